"""``cs_platform.clean``: whatever it accepts, PostgreSQL stores; whatever it refuses, it
refuses with a sentence (``Invalid``), never another exception."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from cs_platform import clean

ANY_TEXT = st.text(max_size=80)  # lone surrogates included, as JSON's "\ud800" decodes to
NUMBERISH = st.text(alphabet="0123456789+-.,eE ²١NaInfity", max_size=30)
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
)
MOMENTS = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    OFFSETS | st.just("") | st.just("Z"),
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4),
    max_leaves=12,
)


def _round_trip(sql: str, value):
    """``value`` through PostgreSQL (in a savepoint, so a refusal fails this example alone)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [value])
        return cursor.fetchone()[0]


@pytest.mark.django_db
@given(value=ANY_TEXT)
def test_text_clean_accepts_is_stored_as_it_is(value):
    try:
        cleaned = clean.text(value, field="Name", max_length=50)
    except clean.Invalid as invalid:
        assert invalid.sentence.startswith("Name ")
        return
    assert len(cleaned) <= 50 and _round_trip("SELECT %s::text", cleaned) == cleaned


@pytest.mark.django_db
@given(value=MOMENTS | ANY_TEXT)
def test_a_moment_clean_accepts_is_utc_in_sane_years_and_postgresql_reads_it(value):
    try:
        moment = clean.moment(value, field="updated_since")
    except clean.Invalid:
        return
    assert moment.utcoffset() == dt.timedelta(0)
    assert clean.EARLIEST_YEAR - 1 <= moment.year <= clean.LATEST_YEAR + 1
    assert _round_trip("SELECT %s::timestamptz", moment) == moment
    assert moment + dt.timedelta(days=366) > moment - dt.timedelta(days=366)  # arithmetic near it cannot overflow


@pytest.mark.django_db
@given(value=JSON)
def test_json_clean_accepts_is_stored_by_jsonb(value):
    try:
        clean.json_value(value, field="properties")
    except clean.Invalid as invalid:
        assert invalid.field.startswith("properties")
        return
    encoded = orjson.dumps(value).decode()
    assert _round_trip("SELECT %s::jsonb", encoded) is not None


@given(value=NUMBERISH | ANY_TEXT)
def test_numbers_and_money_are_refused_with_a_sentence_or_within_their_bounds(value):
    for parse, bounds in (
        (clean.integer, {"minimum": 0, "maximum": 3650}),
        (clean.number, {"minimum": 0, "maximum": 1e15}),
        (clean.money_minor, {}),
    ):
        try:
            number = parse(value, field="Amount", **bounds)
        except clean.Invalid as invalid:
            assert invalid.sentence.startswith("Amount ")
            continue
        assert 0 <= number <= bounds.get("maximum", clean.MAX_MONEY_MINOR)


@given(value=st.dates().map(dt.date.isoformat) | st.text(alphabet="0123456789-", max_size=12) | ANY_TEXT)
def test_dates_and_months_are_refused_with_a_sentence_or_real_and_in_sane_years(value):
    for parse in (clean.date, clean.month):
        try:
            day = parse(value, field="Renewal date")
        except clean.Invalid:
            continue
        assert clean.EARLIEST_DATE <= day <= clean.LATEST_DATE
        assert day - dt.timedelta(days=32) < day + dt.timedelta(days=32)


@pytest.mark.parametrize(
    "parse, value, bounds, sentence",
    [
        (clean.money_minor, "12.500,00", {}, "ARR must be written in major units, such as 12500 or 12,500.00."),
        (clean.money_minor, "-5", {}, "ARR cannot be negative."),
        (clean.money_minor, "1" + "0" * 20, {}, "ARR is larger than any amount Tend can store"),
        (clean.integer, "²", {"minimum": 0, "maximum": 9}, "ARR must be a whole number from 0 to 9."),
        (clean.date, "2026-02-30", {}, "ARR must be a real calendar date, written YYYY-MM-DD."),
        (clean.date, "9999-12-31", {}, "ARR must be between 1900-01-01 and 2199-12-31."),
        (clean.month, "0001-01", {}, "ARR must be a month from 1900-01 to 2199-12."),
        (clean.moment, "2026-03-31T09:30:00-23:59", {}, "ARR has a UTC offset beyond ±14:00"),
        (clean.text, "a\x00b", {"max_length": 9}, "ARR contains a NUL character, which cannot be stored; remove it."),
        (clean.json_value, {"a": [1, {"b\x00": 2}]}, {}, "ARR.a[1].b\\u0000 has a key that contains a NUL character"),
    ],
)
def test_each_refusal_is_a_sentence_naming_the_field_and_what_is_accepted(parse, value, bounds, sentence):
    with pytest.raises(clean.Invalid) as refused:
        parse(value, field="ARR", **bounds)
    assert refused.value.sentence.startswith(sentence)


def test_what_people_write_is_read():
    assert clean.money_minor(" 12,500.50 ", field="ARR") == 1_250_050
    assert clean.money_minor("12 500", field="ARR") == 1_250_000
    assert clean.moment("2026-03-31T09:30:00+02:00", field="t") == dt.datetime(2026, 3, 31, 7, 30, tzinfo=dt.UTC)
    assert clean.moment("2026-03-31", field="t") == dt.datetime(2026, 3, 31, tzinfo=dt.UTC)
    assert clean.month("2026-11", field="m") == dt.date(2026, 11, 1)
    assert clean.number("2.5e3", field="v", minimum=0, maximum=1e6) == 2500.0
