"""Daily rollups of raw events and the account usage metrics derived from them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from accounts.tests.factories import account
from usage import partitions
from usage.models import AccountUsage, DirtyDay, EventDefinition, EventRole, UsageDaily, UsageSource
from usage.rollups import account_usage_refresh, rollup_dirty_days
from usage.services import usage_rows_upsert
from usage.rollups import refresh_account_usage, rollup_usage
from usage.tasks import purge_seen_messages, refresh_all_account_usage, rollup_due

TODAY = dt.date(2025, 3, 20)
DAY1 = dt.date(2025, 3, 10)
DAY2 = dt.date(2025, 3, 11)


def at(day: dt.date, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, tzinfo=dt.UTC))


def store_events(org, rows, *, note: bool = True) -> None:
    """Write raw events straight into the partitioned table, as ingestion does, and note their days.

    Each row: (account or None, timestamp, type, event, user_id[, anonymous_id]).
    """
    partitions.forget_cache()
    partitions.ensure_months({partitions.month_of(row[1]) for row in rows})
    with connection.cursor() as cursor:
        cursor.executemany(
            """
            INSERT INTO integrations_usageevent (organization_id, timestamp, received_at, type, event, user_id,
                                                 anonymous_id, account_id, message_id, source)
            VALUES (%s, %s, now(), %s, %s, %s, %s, %s, %s, 'api')
            """,
            [
                (org.id, ts, kind, event, user, rest[0] if rest else "", acct.id if acct else None, uuid.uuid4().hex)
                for acct, ts, kind, event, user, *rest in rows
            ],
        )
    if note:
        with scopes_disabled():
            DirtyDay.objects.bulk_create(
                DirtyDay(organization=org, day=day) for day in {row[1].astimezone(dt.UTC).date() for row in rows}
            )


def daily(org, *, source=UsageSource.EVENTS) -> dict[tuple[str, dt.date, str], float]:
    with scope(organization=org):
        return {
            (row.account.name, row.day, row.metric): row.value
            for row in UsageDaily.objects.filter(source=source).select_related("account")
        }


def define(org, role, *names) -> None:
    with scope(organization=org):
        for name in names:
            EventDefinition.objects.create(organization=org, role=role, event_name=name)


def usage(org, acct) -> AccountUsage:
    with scope(organization=org):
        return AccountUsage.objects.get(account=acct)


@pytest.fixture
def acme(in_org):
    return account(in_org, "Acme")


@pytest.fixture
def globex(in_org):
    return account(in_org, "Globex")


def test_rollup_counts_each_metric_per_account_and_day(org, acme, globex):
    define(org, EventRole.LOGIN, "Signed In")
    define(org, EventRole.API_CALL, "API Request")
    define(org, EventRole.FEATURE, "Flow Deployed", "Dashboard Viewed", "Signed In")
    store_events(org, [
        (acme, at(DAY1, 8), "track", "Signed In", "u1"),
        (acme, at(DAY1, 9), "track", "Signed In", "u2"),
        (acme, at(DAY1, 10), "track", "Flow Deployed", "u1"),
        (acme, at(DAY1, 11), "track", "Flow Deployed", "u1"),
        (acme, at(DAY1, 12), "track", "API Request", "", "anon-1"),
        (acme, at(DAY1, 13), "track", "Exported CSV", "u2"),
        (acme, at(DAY1, 14), "page", "Pricing", "u3"),
        (acme, at(DAY1, 15), "identify", "", "u4"),  # an active person, but not an event
        (acme, at(DAY2, 0, 5), "screen", "Home", "u1"),
        (globex, at(DAY1, 23, 59), "page", "", "", "anon-9"),
        (None, at(DAY1, 9), "track", "Signed In", "stranger"),  # unmatched: not counted
    ])

    result = rollup_dirty_days(organization=org)

    assert result.days == 2
    assert daily(org) == {
        ("Acme", DAY1, "events"): 7,
        ("Acme", DAY1, "active_users"): 5,
        ("Acme", DAY1, "logins"): 2,
        ("Acme", DAY1, "api_calls"): 1,
        ("Acme", DAY1, "features_used"): 2,  # Flow Deployed and Signed In; Dashboard Viewed unused
        ("Acme", DAY1, "event:Signed In"): 2,
        ("Acme", DAY1, "event:Flow Deployed"): 2,
        ("Acme", DAY1, "event:API Request"): 1,
        ("Acme", DAY1, "event:Exported CSV"): 1,
        ("Acme", DAY2, "events"): 1,
        ("Acme", DAY2, "active_users"): 1,
        ("Globex", DAY1, "events"): 1,
        ("Globex", DAY1, "active_users"): 1,
    }
    assert result.rows == 13
    with scopes_disabled():
        assert not DirtyDay.objects.filter(organization=org).exists()
    assert usage(org, acme).last_seen_at == at(DAY2, 0, 5)
    assert usage(org, globex).last_seen_at == at(DAY1, 23, 59)


def test_rerunning_a_day_gives_the_same_rows_and_late_events_change_only_their_day(org, acme):
    store_events(org, [
        (acme, at(DAY1, 8), "track", "Signed In", "u1"),
        (acme, at(DAY1, 9), "track", "Report Run", "u2"),
        (acme, at(DAY2, 9), "track", "Report Run", "u2"),
    ])
    rollup_dirty_days(organization=org)
    first = daily(org)

    with scopes_disabled():
        DirtyDay.objects.create(organization=org, day=DAY1)
        DirtyDay.objects.create(organization=org, day=DAY1)  # notes may repeat
    again = rollup_dirty_days(organization=org)
    assert again.days == 1
    assert daily(org) == first

    # A late event for day 1 (noted), and one for day 2 whose note has not come yet.
    store_events(org, [(acme, at(DAY1, 22), "track", "Signed In", "u3")])
    store_events(org, [(acme, at(DAY2, 22), "track", "Signed In", "u3")], note=False)
    rollup_dirty_days(organization=org)

    after = daily(org)
    assert after[("Acme", DAY1, "events")] == 3
    assert after[("Acme", DAY1, "active_users")] == 3
    assert after[("Acme", DAY1, "event:Signed In")] == 2
    assert {key: value for key, value in after.items() if key[1] == DAY2} == {
        key: value for key, value in first.items() if key[1] == DAY2
    }


def test_rollup_with_no_dirty_days_writes_nothing(org, acme):
    assert rollup_dirty_days(organization=org).days == 0
    assert daily(org) == {}


def test_rollup_replaces_only_event_rows(org, acme):
    usage_rows_upsert(organization=org, source=UsageSource.CSV, rows=[(acme.id, DAY1, "events", 40)])
    store_events(org, [(acme, at(DAY1), "track", "Signed In", "u1")])
    rollup_dirty_days(organization=org)
    assert daily(org, source=UsageSource.CSV) == {("Acme", DAY1, "events"): 40}
    assert daily(org) == {("Acme", DAY1, "events"): 1, ("Acme", DAY1, "active_users"): 1, ("Acme", DAY1, "event:Signed In"): 1}


def test_another_organizations_events_never_leak_in(org, other_org, acme):
    with scope(organization=other_org):
        theirs = account(other_org, "Theirs")
    store_events(org, [(acme, at(DAY1), "track", "Signed In", "u1")])
    store_events(other_org, [
        (theirs, at(DAY1), "track", "Signed In", "x1"),
        (acme, at(DAY1), "track", "Signed In", "x2"),  # even one naming our account id
    ])

    rollup_dirty_days(organization=org)

    assert daily(org)[("Acme", DAY1, "events")] == 1
    assert daily(org)[("Acme", DAY1, "active_users")] == 1
    assert daily(other_org) == {}
    with scopes_disabled():
        assert DirtyDay.objects.filter(organization=other_org).count() == 1


def test_last_seen_never_moves_back(org, acme):
    store_events(org, [(acme, at(DAY2, 18), "track", "Signed In", "u1")])
    rollup_dirty_days(organization=org)
    store_events(org, [(acme, at(DAY1, 9), "track", "Signed In", "u1")])
    rollup_dirty_days(organization=org)
    assert usage(org, acme).last_seen_at == at(DAY2, 18)


def test_rollup_takes_the_same_number_of_queries_for_any_number_of_accounts_and_days(org, in_org):
    one = account(org, "One")
    store_events(org, [(one, at(DAY1), "track", "Signed In", "u1")])
    with CaptureQueriesContext(connection) as small:
        rollup_dirty_days(organization=org)

    many = [account(org, f"Account {n}") for n in range(6)]
    store_events(org, [
        (acct, at(day, hour), "track", f"Event {hour}", f"user-{hour}")
        for acct in many
        for day in (DAY1, DAY2, DAY2 + dt.timedelta(days=5), dt.date(2025, 4, 2))
        for hour in (1, 5, 9)
    ])
    with CaptureQueriesContext(connection) as large:
        result = rollup_dirty_days(organization=org)

    assert result.days == 4
    assert len(large.captured_queries) == len(small.captured_queries)


def test_account_usage_refresh_computes_windows_trends_and_adoption(org, acme, globex):
    define(org, EventRole.FEATURE, "F1", "F2", "F3", "F4")

    def d(days_ago):
        return TODAY - dt.timedelta(days=days_ago)

    usage_rows_upsert(organization=org, source=UsageSource.EVENTS, rows=[
        (acme.id, d(0), "events", 10),
        (acme.id, d(6), "events", 5),
        (acme.id, d(7), "events", 4),      # previous week
        (acme.id, d(13), "events", 6),     # previous week
        (acme.id, d(20), "events", 3),
        (acme.id, d(27), "events", 2),
        (acme.id, d(28), "events", 7),     # previous 4 weeks
        (acme.id, d(55), "events", 1),     # previous 4 weeks
        (acme.id, d(56), "events", 100),   # outside every window
        (acme.id, d(2), "logins", 3),
        (acme.id, d(8), "logins", 50),     # outside the week
        (acme.id, d(0), "api_calls", 7),
        (acme.id, d(29), "event:F1", 1),   # used within 30 days
        (acme.id, d(30), "event:F2", 1),   # too long ago
        (acme.id, d(1), "event:Other", 9),  # not a feature
    ])
    usage_rows_upsert(organization=org, source=UsageSource.CSV, rows=[
        (acme.id, d(1), "events", 5),
        (acme.id, d(3), "logins", 2),
        (acme.id, d(5), "event:F3", 2),
    ])

    written = account_usage_refresh(organization=org, today=TODAY)

    assert written == 2
    acme_usage = usage(org, acme)
    assert (acme_usage.events_7d, acme_usage.events_prev_7d) == (20, 10)
    assert (acme_usage.events_28d, acme_usage.events_prev_28d) == (35, 8)
    assert acme_usage.wow_change_pct == pytest.approx(100.0)
    assert acme_usage.trend_4w_pct == pytest.approx(100.0 * (35 - 8) / 8)
    assert acme_usage.logins_7d == 5
    assert acme_usage.api_calls_7d == 7
    assert (acme_usage.features_used_30d, acme_usage.features_total) == (2, 4)
    assert acme_usage.feature_adoption_pct == pytest.approx(50.0)
    assert acme_usage.seats is None and acme_usage.wau_per_seat is None

    quiet = usage(org, globex)
    assert (quiet.events_7d, quiet.logins_7d, quiet.active_users_7d, quiet.features_used_30d) == (0, 0, 0, 0)
    assert quiet.wow_change_pct is None and quiet.trend_4w_pct is None
    assert quiet.feature_adoption_pct == 0.0
    assert quiet.last_seen_at is None


def test_weekly_active_users_counts_each_person_once(org, acme):
    store_events(org, [
        (acme, at(TODAY), "track", "Signed In", "u1"),
        (acme, at(TODAY - dt.timedelta(days=1)), "track", "Signed In", "u1"),
        (acme, at(TODAY - dt.timedelta(days=2)), "track", "Signed In", "u1"),
        (acme, at(TODAY - dt.timedelta(days=3)), "page", "", "", "anon-2"),
        (acme, at(TODAY - dt.timedelta(days=7)), "track", "Signed In", "u3"),  # last week
    ])
    rollup_dirty_days(organization=org)

    account_usage_refresh(organization=org, today=TODAY)

    assert usage(org, acme).active_users_7d == 2


def test_accounts_known_only_from_csv_get_their_users_and_last_seen_from_it(org, acme, globex):
    store_events(org, [(acme, at(TODAY - dt.timedelta(days=4), 15), "track", "Signed In", "u1")])
    rollup_dirty_days(organization=org)
    usage_rows_upsert(organization=org, source=UsageSource.CSV, rows=[
        (globex.id, TODAY - dt.timedelta(days=1), "active_users", 12),
        (globex.id, TODAY - dt.timedelta(days=3), "active_users", 9),
        (globex.id, TODAY - dt.timedelta(days=2), "events", 0),
        # Acme has raw events: its CSV rows do not move its last use.
        (acme.id, TODAY, "active_users", 3),
    ])

    account_usage_refresh(organization=org, today=TODAY)

    assert usage(org, globex).active_users_7d == 12
    assert usage(org, globex).last_seen_at == at(TODAY - dt.timedelta(days=1), 0)
    assert usage(org, acme).last_seen_at == at(TODAY - dt.timedelta(days=4), 15)
    assert usage(org, acme).active_users_7d == 3


def test_adoption_is_unknown_without_a_feature_list(org, acme):
    usage_rows_upsert(organization=org, source=UsageSource.EVENTS, rows=[(acme.id, TODAY, "event:F1", 1)])
    account_usage_refresh(organization=org, today=TODAY)
    acme_usage = usage(org, acme)
    assert acme_usage.features_total == 0
    assert acme_usage.feature_adoption_pct is None


def test_refresh_is_repeatable_and_set_based(org, in_org):
    first = account(org, "First")
    usage_rows_upsert(organization=org, source=UsageSource.EVENTS, rows=[(first.id, TODAY, "events", 3)])
    with CaptureQueriesContext(connection) as one_account:
        assert account_usage_refresh(organization=org, today=TODAY) == 1

    accounts = [account(org, f"Account {n}") for n in range(5)]
    usage_rows_upsert(organization=org, source=UsageSource.EVENTS, rows=[(a.id, TODAY, "events", 3) for a in accounts])
    with CaptureQueriesContext(connection) as six_accounts:
        assert account_usage_refresh(organization=org, today=TODAY) == 6
    assert account_usage_refresh(organization=org, today=TODAY) == 6

    assert len(six_accounts.captured_queries) == len(one_account.captured_queries)
    assert AccountUsage.objects.count() == 6
    assert set(AccountUsage.objects.values_list("events_7d", flat=True)) == {3}


def test_rollup_usage_task_rolls_up_and_refreshes(org, acme):
    store_events(org, [(acme, at(TODAY), "track", "Signed In", "u1")])

    outcome = rollup_usage.apply(args=[org.id]).get()

    assert outcome["days"] == 1
    assert daily(org)[("Acme", TODAY, "events")] == 1
    assert usage(org, acme).last_seen_at == at(TODAY)
    assert refresh_account_usage.apply(args=[org.id]).get() == 1


def test_rollup_due_picks_only_organizations_with_notes(org, other_org, acme):
    store_events(org, [(acme, at(DAY1), "track", "Signed In", "u1")])

    assert rollup_due.apply().get() == [org.id]

    # Eager in tests: the enqueued rollup has run.
    assert daily(org)[("Acme", DAY1, "events")] == 1
    assert rollup_due.apply().get() == []


def test_refresh_all_account_usage_visits_organizations_with_usage(org, other_org, acme, django_capture_on_commit_callbacks):
    usage_rows_upsert(organization=org, source=UsageSource.CSV, rows=[(acme.id, DAY1, "events", 2)])
    with django_capture_on_commit_callbacks(execute=True):  # each refresh is sent through the outbox
        assert refresh_all_account_usage.apply().get() == [org.id]
    assert usage(org, acme) is not None


def test_purge_seen_messages_deletes_only_old_ones(org, settings):
    settings.USAGE_DEDUP_DAYS = 8
    today = dt.datetime.now(dt.UTC).date()
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO integrations_seenmessage (organization_id, message_id, seen_on) VALUES (%s, %s, %s)",
            [
                (org.id, "old", today - dt.timedelta(days=9)),
                (org.id, "edge", today - dt.timedelta(days=8)),
                (org.id, "new", today),
            ],
        )

    assert purge_seen_messages.apply().get() == 1

    with connection.cursor() as cursor:
        cursor.execute("SELECT message_id FROM integrations_seenmessage ORDER BY message_id")
        assert [row[0] for row in cursor.fetchall()] == ["edge", "new"]
