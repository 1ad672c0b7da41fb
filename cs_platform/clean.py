"""The one place that cleans and bounds what comes in: text, whole and decimal numbers, money,
dates, months, moments and JSON, for query strings, forms, CSV cells and ingestion alike.

Each function returns the cleaned value or raises ``Invalid``, whose ``problem`` reads
after the field's name or the quoted value ("must be a whole number from 0 to 3650"), so
pages, CSV row errors and JSON APIs can all say what is wrong and what is accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal

import orjson
from django import forms

# PostgreSQL's text and jsonb cannot hold NUL, and UTF-8 cannot encode a lone surrogate
# (what JSON's "\ud800" or a broken UTF-16 file decodes to).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Dates people and programs mean are in these years; outside them a value is a typo
# (0001-01-01, 9999-12-31), and arithmetic on it (a month later, a time zone away) overflows.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2199
EARLIEST_DATE = dt.date(EARLIEST_YEAR, 1, 1)
LATEST_DATE = dt.date(LATEST_YEAR, 12, 31)
# Real time zones are -12:00 to +14:00; PostgreSQL refuses offsets past ±15:59.
MAX_UTC_OFFSET = dt.timedelta(hours=14)

# Money is a BigIntegerField of minor units: far below its 9.2e18, far above any customer's ARR.
MAX_MONEY_MINOR = 10**15
BIGINT_MAX = 2**63 - 1
MAX_JSON_DEPTH = 32
# A number, date or moment longer than this is not one, whatever it holds: refused before parsing.
_MAX_SCALAR_TEXT = 64

_INTEGER = re.compile(r"[+-]?[0-9]+")  # ASCII only: "²" and "١" are digits to str.isdigit()
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
# Commas only as thousands separators: "12.500,00" must fail, not become 12.5.
_AMOUNT = re.compile(r"([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")

A_DATE = "a date written YYYY-MM-DD, such as 2026-03-31"
A_MOMENT = "an ISO 8601 date-time such as 2026-03-31T09:30:00Z"


class Invalid(ValueError):
    """``field`` cannot take the value given: ``problem`` says why, and what it accepts."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field} {problem}")
        self.field, self.problem = field, problem

    @property
    def sentence(self) -> str:
        """"Renewal must be a number of days from 0 to 3650.": for a page or a form."""
        return f"{self.field} {self.problem}."


def one_of(options: Iterable[str]) -> str:
    """"a, b or c", for messages."""
    options = list(options)
    return ", ".join(options[:-1]) + f" or {options[-1]}" if len(options) > 1 else "".join(options)


def unstorable(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a NUL, a broken character), or None."""
    if "\x00" not in value and value.isascii():  # most text, decided in C without the regex
        return None
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character, which cannot be stored; remove it"
    return "contains a broken character (half of a UTF-16 pair), which cannot be stored; send UTF-8 text"


def text(value: str, *, field: str, max_length: int, strip: bool = True) -> str:
    """``value`` (stripped) if it can be stored in a column of ``max_length`` characters."""
    if strip:
        value = value.strip()
    if len(value) > max_length:
        raise Invalid(field, f"is {len(value):,} characters long; at most {max_length:,} are allowed")
    if (why := unstorable(value)) is not None:
        raise Invalid(field, why)
    return value


def choice(value: str, *, field: str, choices: Iterable[str]) -> str:
    options = list(choices)
    if value not in options:
        raise Invalid(field, f"must be one of {one_of(options)}")
    return value


def integer(value: str, *, field: str, minimum: int, maximum: int) -> int:
    """A whole number written in ASCII digits, from ``minimum`` to ``maximum``."""
    stripped = value.strip()
    if len(stripped) > _MAX_SCALAR_TEXT or not _INTEGER.fullmatch(stripped) or not minimum <= int(stripped) <= maximum:
        raise Invalid(field, f"must be a whole number from {minimum} to {maximum}")
    return int(stripped)


def number(value: str, *, field: str, minimum: float, maximum: float) -> float:
    """A finite decimal number ("14", "2.5", "1e3") from ``minimum`` to ``maximum``."""
    stripped = value.strip()
    if len(stripped) > _MAX_SCALAR_TEXT or not _DECIMAL.fullmatch(stripped):
        raise Invalid(field, "must be a number written in digits with an optional decimal point, such as 14 or 2.5")
    parsed = float(stripped)
    if not math.isfinite(parsed) or not minimum <= parsed <= maximum:
        raise Invalid(field, f"must be a number from {minimum:g} to {maximum:g}")
    return parsed


def money_minor(value: str, *, field: str, maximum: int = MAX_MONEY_MINOR) -> int:
    """An amount in major units ("12500", "12,500.00") as integer minor units (cents):
    finite, not negative, and within what the column holds."""
    stripped = value.strip().replace(" ", "").replace("\u00a0", "")  # spreadsheets group digits with spaces
    if len(stripped) > _MAX_SCALAR_TEXT or not _AMOUNT.fullmatch(stripped.removeprefix("-")):
        raise Invalid(field, "must be written in major units, such as 12500 or 12,500.00")
    if stripped.startswith("-"):
        raise Invalid(field, "cannot be negative")
    minor = int(Decimal(stripped.replace(",", "")) * 100)
    if minor > maximum:
        raise Invalid(field, f"is larger than any amount Tend can store (at most {maximum // 100:,}); check the number")
    return minor


def bounded_date(day: dt.date, *, field: str, earliest: dt.date = EARLIEST_DATE, latest: dt.date = LATEST_DATE) -> dt.date:
    if not earliest <= day <= latest:
        raise Invalid(field, f"must be between {earliest.isoformat()} and {latest.isoformat()}")
    return day


def date(value: str, *, field: str, earliest: dt.date = EARLIEST_DATE, latest: dt.date = LATEST_DATE) -> dt.date:
    """A real calendar date, ISO only: 01/02/2026 is 1 February in one country and 2 January in the next."""
    stripped = value.strip()
    if not _ISO_DATE.fullmatch(stripped):
        raise Invalid(field, f"must be {A_DATE}")
    try:
        day = dt.date.fromisoformat(stripped)
    except ValueError:
        raise Invalid(field, "must be a real calendar date, written YYYY-MM-DD") from None
    return bounded_date(day, field=field, earliest=earliest, latest=latest)


def month(value: str, *, field: str) -> dt.date:
    """A month written YYYY-MM, as its first day."""
    stripped = value.strip()
    if not _ISO_MONTH.fullmatch(stripped) or not 1 <= int(stripped[5:]) <= 12:
        raise Invalid(field, "must be a month written YYYY-MM, such as 2026-11")
    first = dt.date(int(stripped[:4]), int(stripped[5:]), 1)
    if not EARLIEST_YEAR <= first.year <= LATEST_YEAR:
        raise Invalid(field, f"must be a month from {EARLIEST_YEAR}-01 to {LATEST_YEAR}-12")
    return first


def bounded_moment(moment: dt.datetime, *, field: str) -> dt.datetime:
    """``moment`` in UTC (without an offset it is UTC), if its year and offset are sane."""
    # Checked before any arithmetic: 9999-12-31T23:59:59-23:59 is in the year 10000 in UTC,
    # and comparing 0001-01-01T00:00+01:00 with anything overflows.
    if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
        raise Invalid(field, f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    offset = moment.utcoffset()
    if offset is None:
        return moment.replace(tzinfo=dt.UTC)
    if abs(offset) > MAX_UTC_OFFSET:
        raise Invalid(field, "has a UTC offset beyond ±14:00, which no time zone has")
    return moment.astimezone(dt.UTC)


def moment(value: str, *, field: str) -> dt.datetime:
    """An ISO 8601 date-time (a date alone means its midnight) as an aware UTC datetime."""
    stripped = value.strip()
    try:
        if len(stripped) > _MAX_SCALAR_TEXT or not stripped.isascii():
            raise ValueError
        parsed = dt.datetime.fromisoformat(stripped)
    except ValueError:
        raise Invalid(field, f"must be {A_MOMENT}") from None
    return bounded_moment(parsed, field=field)


def _plainly_storable(value: object, max_depth: int) -> bool:
    """Whether ``value`` is certainly fine for jsonb, judged from one encoding in C.

    Ingestion checks every message's properties: walking them in Python took most of a
    request's parsing time. orjson refuses lone surrogates, non-text keys and (strictly)
    integers past 53 bits by itself; a NUL shows as its escape, a NaN or infinity as null
    (a string holding either text is walked too, to be sure); fewer brackets than
    ``max_depth`` cannot nest too deep.
    """
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except TypeError:
        return False
    if b"\\u0000" in encoded or b"null" in encoded:
        return False
    return encoded.count(b"{") + encoded.count(b"[") < max_depth


def json_value(value: object, *, field: str, max_depth: int = MAX_JSON_DEPTH) -> object:
    """``value`` (decoded JSON) if PostgreSQL's jsonb can hold it: no NUL or broken character
    in any key or string, finite numbers, 64-bit integers, at most ``max_depth`` levels.

    Raises ``Invalid`` naming the path of the first bad part, such as ``properties.plan``.
    """
    if _plainly_storable(value, max_depth):
        return value
    pending: list[tuple[object, str, int]] = [(value, field, 0)]
    while pending:
        item, path, depth = pending.pop()
        if isinstance(item, str):
            if (why := unstorable(item)) is not None:
                raise Invalid(path, why)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -BIGINT_MAX - 1 <= item <= BIGINT_MAX:
                raise Invalid(path, "is a whole number too large to store; at most 19 digits are allowed")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise Invalid(path, "must be a finite number")
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise Invalid(path, f"nests deeper than {max_depth} levels; flatten it")
            if isinstance(item, list):
                pending.extend((element, f"{path}[{index}]", depth + 1) for index, element in enumerate(item))
                continue
            for key, element in item.items():
                shown = json.dumps(str(key))[1:-1][:60]  # NUL shows as \u0000, not as nothing
                if not isinstance(key, str) or (why := unstorable(key)) is not None:
                    raise Invalid(f"{path}.{shown}", f"has a key that {why or 'is not text'}")
                pending.append((element, f"{path}.{shown}", depth + 1))
        else:
            raise Invalid(path, f"is not a JSON value ({type(item).__name__})")
    return value


# --- Form fields: the same rules, as Django form errors -------------------------------------


class MoneyField(forms.CharField):
    """An amount in major units ("12,500.00"), cleaned to integer minor units; empty is 0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value):
        typed = super().to_python(value)
        if not typed:
            return 0
        try:
            return money_minor(typed, field="The amount")
        except Invalid as error:
            raise forms.ValidationError(error.sentence) from None

    def prepare_value(self, value):
        if isinstance(value, int):
            return f"{value / 100:.2f}"
        return value


class DateField(forms.DateField):
    """Django's date field, bounded to the years people mean (no 0001-01-01, no 9999-12-31)."""

    default_error_messages = {"invalid": "Enter a real calendar date, written YYYY-MM-DD, such as 2026-03-31."}

    def to_python(self, value):
        day = super().to_python(value)
        if day is None:
            return None
        try:
            return bounded_date(day, field="The date")
        except Invalid as error:
            raise forms.ValidationError(error.sentence) from None
