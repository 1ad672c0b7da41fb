"""Daily usage rollups from raw events, and the per-account metrics derived from them.

Two set-based steps, each a handful of SQL statements for a whole organization:

``rollup_dirty_days`` turns the raw events of the days noted dirty (``DirtyDay``) into
``UsageDaily`` rows with ``source='events'``, one row per (account, UTC day, metric),
stored only when the value is above zero. It replaces exactly those days, so running it
again for a day gives the same rows. Metrics:

- ``events``: track, page and screen messages.
- ``active_users``: distinct people, ``coalesce(nullif(user_id, ''), anonymous_id)``,
  over every message type (identify and group too).
- ``logins``: track events named as a LOGIN event definition.
- ``api_calls``: track events named as an API_CALL event definition.
- ``features_used``: distinct track event names that are FEATURE definitions.
- ``event:<name>``: track events of that name.

Unmatched events (no account yet) count once an admin maps them, which notes their days.

``account_usage_refresh`` recomputes every ``AccountUsage`` row of the organization from
``UsageDaily`` summed over all sources (events, CSV, connectors). Windows end ``today``
(UTC) inclusive:

- ``events_7d`` / ``events_prev_7d``: days today-6..today / today-13..today-7;
  ``events_28d`` / ``events_prev_28d``: today-27..today / today-55..today-28.
- ``logins_7d``, ``api_calls_7d``: sums of those metrics over the last 7 days.
- ``active_users_7d`` (WAU): distinct people in the raw events of the last 7 days; for
  accounts whose usage comes from CSV or a connector (daily counts cannot be summed into
  distinct people), the highest daily ``active_users`` of the week. The larger of the two.
- ``features_used_30d``: distinct FEATURE events with an ``event:<name>`` value above
  zero in the last 30 days; ``features_total``: FEATURE definitions;
  ``feature_adoption_pct`` = 100 × used / total, NULL when no features are defined.
- ``wow_change_pct`` = 100 × (events_7d − events_prev_7d) / events_prev_7d and
  ``trend_4w_pct`` likewise over 28 days; NULL when the earlier window has no events.
- ``last_seen_at``: the latest raw event's timestamp (kept up by the rollup); for an
  account with only CSV or connector rows, the latest day with a value above zero, at
  00:00 UTC. It never moves back.
- ``seats`` and ``wau_per_seat``: NULL, until seats come with billing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from celery import shared_task
from django.db import connection, transaction
from django_scopes import scopes_disabled

from cs_platform.models import Organization
from cs_platform.tenant_task import TenantTask
from cs_platform.tenancy import active_organization
from usage.models import DirtyDay, EventRole, UsageSource

# Message types counted as ``events`` (identify and group describe people, not use).
COUNTED_TYPES = ("track", "page", "screen")
EVENT_METRIC_PREFIX = "event:"


# pg_try_advisory_xact_lock(int, int): the first key says "usage rollup", the second is the organization.
_LOCK_NAMESPACE = 4_001

# For this transaction only. The statements are bulk work over rows that were just
# written, before autovacuum has analyzed them: with stale estimates (one row) the
# planner picks nested loops that run for minutes, so they are ruled out. Ruling them
# out inflates the plan's cost, which would trigger JIT compilation (most of a second,
# even for a few rows), so JIT is off. The planner hashes GROUPING SETS only when its
# (pessimistic) estimate of the groups fits in hash memory, else it sorts every event on
# disk, twice as slow: hash memory may reach 16 × work_mem (4 GB; 10 million events over
# 30,000 account-days use about 700 MB).
_BULK_SETTINGS = (
    "SELECT set_config('enable_nestloop', 'off', true), set_config('jit', 'off', true),"
    " set_config('work_mem', %s, true), set_config('hash_mem_multiplier', '16', true)"
)
BULK_WORK_MEM = "256MB"


@dataclass(frozen=True)
class RollupResult:
    days: int = 0
    rows: int = 0


def _day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Consecutive days merged into ``[start, end)`` UTC timestamp ranges.

    The event query filters on these ranges, so the planner prunes to the partitions
    (months) they touch and reads the (organization_id, timestamp) key range of each.
    """
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + dt.timedelta(days=1))
        else:
            ranges.append((day, day + dt.timedelta(days=1)))
    midnight = dt.time(tzinfo=dt.UTC)
    return [(dt.datetime.combine(lo, midnight), dt.datetime.combine(hi, midnight)) for lo, hi in ranges]


# One scan of the raw events, two aggregations in it (GROUPING SETS without DISTINCT
# aggregates, so both can hash): per (account, day, person) and per (account, day, track event).
# Everything after works on those small results: people are counted per day, event names
# are matched to the definitions, and the metrics are unpivoted into rows.
_ROLLUP_SQL = """
WITH defs AS (
    SELECT event_name,
           bool_or(role = %(login)s) AS is_login,
           bool_or(role = %(api_call)s) AS is_api_call,
           bool_or(role = %(feature)s) AS is_feature
    FROM integrations_eventdefinition
    WHERE organization_id = %(org)s
    GROUP BY event_name
), sets AS (
    SELECT account_id,
           (timestamp AT TIME ZONE 'UTC')::date AS day,
           nullif(coalesce(nullif(user_id, ''), anonymous_id), '') AS person,
           CASE WHEN type = 'track' THEN event END AS track_event,
           GROUPING(nullif(coalesce(nullif(user_id, ''), anonymous_id), '')) AS by_event,
           count(*) FILTER (WHERE type = ANY(%(counted)s)) AS n,
           max(timestamp) AS last_at
    FROM integrations_usageevent
    WHERE organization_id = %(org)s AND account_id IS NOT NULL AND ({ranges})
    GROUP BY GROUPING SETS (
        (account_id, (timestamp AT TIME ZONE 'UTC')::date, nullif(coalesce(nullif(user_id, ''), anonymous_id), '')),
        (account_id, (timestamp AT TIME ZONE 'UTC')::date, CASE WHEN type = 'track' THEN event END)
    )
), per_day AS (
    SELECT s.account_id, s.day, count(s.person) AS active_users, sum(s.n) AS events, max(s.last_at) AS last_at
    FROM sets s
    -- Events keep the account id they were matched to; an account deleted since has no rows.
    JOIN accounts_account a ON a.id = s.account_id AND a.organization_id = %(org)s
    WHERE s.by_event = 0
    GROUP BY s.account_id, s.day
), per_event AS (
    SELECT s.account_id, s.day, s.track_event, s.n,
           coalesce(d.is_login, false) AS is_login,
           coalesce(d.is_api_call, false) AS is_api_call,
           coalesce(d.is_feature, false) AS is_feature
    FROM sets s
    JOIN accounts_account a ON a.id = s.account_id AND a.organization_id = %(org)s
    LEFT JOIN defs d ON d.event_name = s.track_event
    WHERE s.by_event = 1 AND s.track_event IS NOT NULL AND s.n > 0
), defined AS (
    SELECT account_id, day,
           sum(n) FILTER (WHERE is_login) AS logins,
           sum(n) FILTER (WHERE is_api_call) AS api_calls,
           count(*) FILTER (WHERE is_feature) AS features_used
    FROM per_event
    WHERE is_login OR is_api_call OR is_feature
    GROUP BY account_id, day
), metrics AS (
    SELECT p.account_id, p.day, m.metric, m.value
    FROM per_day p
    LEFT JOIN defined d USING (account_id, day)
    CROSS JOIN LATERAL (VALUES
        ('events', p.events),
        ('active_users', p.active_users),
        ('logins', d.logins),
        ('api_calls', d.api_calls),
        ('features_used', d.features_used)
    ) AS m(metric, value)
    UNION ALL
    SELECT account_id, day, %(prefix)s || track_event, n FROM per_event
), written AS (
    INSERT INTO integrations_usagedaily (organization_id, account_id, day, metric, source, source_ref, value)
    SELECT %(org)s, account_id, day, metric, %(source)s, '', value
    FROM metrics
    WHERE value > 0
    -- In the unique index's order: the index is appended to, not written all over.
    ORDER BY account_id, day, metric
    RETURNING 1
), seen AS (
    INSERT INTO integrations_accountusage (
        organization_id, account_id, last_seen_at, logins_7d, active_users_7d, events_7d, events_prev_7d,
        events_28d, events_prev_28d, api_calls_7d, features_used_30d, features_total, computed_at
    )
    SELECT %(org)s, account_id, max(last_at), 0, 0, 0, 0, 0, 0, 0, 0, 0, now()
    FROM per_day
    GROUP BY account_id
    ON CONFLICT (organization_id, account_id)
    DO UPDATE SET last_seen_at = greatest(integrations_accountusage.last_seen_at, EXCLUDED.last_seen_at)
)
SELECT count(*) FROM written
"""


def rollup_dirty_days(*, organization: Organization) -> RollupResult:
    """Roll up the organization's dirty days into ``UsageDaily`` (source ``events``).

    Incremental (only the noted days) and idempotent (a day's rows are replaced whole).
    Constant number of statements, whatever the number of days, accounts or events.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # One rollup per organization at a time; a second one (the beat enqueues every
        # minute) returns at once, and any notes added meanwhile wait for the next run.
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, organization.id])
        if not cursor.fetchone()[0]:
            return RollupResult()
        # In the same transaction as the rollup: if it fails, the notes come back. Only
        # the notes this snapshot sees are deleted; ingestion appends new ones without
        # waiting, and those days are rolled up again on the next run.
        cursor.execute(
            "DELETE FROM integrations_dirtyday WHERE organization_id = %s RETURNING day", [organization.id]
        )
        days = sorted({row[0] for row in cursor.fetchall()})
        if not days:
            return RollupResult()
        cursor.execute(_BULK_SETTINGS, [BULK_WORK_MEM])
        cursor.execute(
            "DELETE FROM integrations_usagedaily WHERE organization_id = %s AND source = %s AND day = ANY(%s)",
            [organization.id, str(UsageSource.EVENTS), days],
        )
        ranges = _day_ranges(days)
        params: dict[str, object] = {
            "org": organization.id,
            "login": str(EventRole.LOGIN),
            "api_call": str(EventRole.API_CALL),
            "feature": str(EventRole.FEATURE),
            "counted": list(COUNTED_TYPES),
            "prefix": EVENT_METRIC_PREFIX,
            "source": str(UsageSource.EVENTS),
        }
        clauses = []
        for index, (start, end) in enumerate(ranges):
            params[f"lo{index}"], params[f"hi{index}"] = start, end
            clauses.append(f"(timestamp >= %(lo{index})s AND timestamp < %(hi{index})s)")
        cursor.execute(_ROLLUP_SQL.format(ranges=" OR ".join(clauses)), params)
        rows = cursor.fetchone()[0]
    return RollupResult(days=len(days), rows=rows)



_REFRESH_SQL = """
WITH features AS (
    SELECT DISTINCT event_name FROM integrations_eventdefinition
    WHERE organization_id = %(org)s AND role = %(feature)s
), daily AS (
    -- One value per (account, day, metric), summed over sources, in the widest window.
    SELECT account_id, day, metric, sum(value) AS value
    FROM integrations_usagedaily
    WHERE organization_id = %(org)s AND day BETWEEN %(today)s::date - 55 AND %(today)s::date
      AND (metric IN ('events', 'logins', 'api_calls', 'active_users')
           OR metric IN (SELECT %(prefix)s || event_name FROM features))
    GROUP BY account_id, day, metric
), windows AS (
    SELECT d.account_id,
           sum(d.value) FILTER (WHERE d.metric = 'events' AND d.day >= %(today)s::date - 6) AS events_7d,
           sum(d.value) FILTER (WHERE d.metric = 'events' AND d.day BETWEEN %(today)s::date - 13
                                                                        AND %(today)s::date - 7) AS events_prev_7d,
           sum(d.value) FILTER (WHERE d.metric = 'events' AND d.day >= %(today)s::date - 27) AS events_28d,
           sum(d.value) FILTER (WHERE d.metric = 'events' AND d.day <= %(today)s::date - 28) AS events_prev_28d,
           sum(d.value) FILTER (WHERE d.metric = 'logins' AND d.day >= %(today)s::date - 6) AS logins_7d,
           sum(d.value) FILTER (WHERE d.metric = 'api_calls' AND d.day >= %(today)s::date - 6) AS api_calls_7d,
           max(d.value) FILTER (WHERE d.metric = 'active_users' AND d.day >= %(today)s::date - 6) AS top_daily_users,
           count(DISTINCT d.metric) FILTER (
               WHERE d.metric LIKE 'event:%%' AND d.day >= %(today)s::date - 29 AND d.value > 0
           ) AS features_used
    FROM daily d
    GROUP BY d.account_id
), people AS (
    -- Distinct people of the week from the raw events: daily counts cannot be added up.
    SELECT account_id, count(person) AS users
    FROM (
        SELECT DISTINCT account_id, nullif(coalesce(nullif(user_id, ''), anonymous_id), '') AS person
        FROM integrations_usageevent
        WHERE organization_id = %(org)s AND account_id IS NOT NULL
          AND timestamp >= %(week_start)s AND timestamp < %(week_end)s
    ) AS distinct_people
    GROUP BY account_id
), other_sources AS (
    -- Last day of use of accounts known only from CSV or a connector (no raw events).
    SELECT o.account_id, max(o.day) AS day
    FROM integrations_usagedaily o
    WHERE o.organization_id = %(org)s AND o.source <> %(events)s AND o.value > 0
      AND NOT EXISTS (
          SELECT 1 FROM integrations_usagedaily e
          WHERE e.organization_id = %(org)s AND e.account_id = o.account_id AND e.source = %(events)s
      )
    GROUP BY o.account_id
), computed AS (
    SELECT a.id AS account_id,
           (o.day::timestamp AT TIME ZONE 'UTC') AS last_seen_at,
           round(coalesce(w.logins_7d, 0))::int AS logins_7d,
           greatest(coalesce(p.users, 0), round(coalesce(w.top_daily_users, 0))::int) AS active_users_7d,
           round(coalesce(w.events_7d, 0))::int AS events_7d,
           round(coalesce(w.events_prev_7d, 0))::int AS events_prev_7d,
           round(coalesce(w.events_28d, 0))::int AS events_28d,
           round(coalesce(w.events_prev_28d, 0))::int AS events_prev_28d,
           round(coalesce(w.api_calls_7d, 0))::int AS api_calls_7d,
           coalesce(w.features_used, 0)::int AS features_used_30d,
           (SELECT count(*) FROM features)::int AS features_total
    FROM accounts_account a
    LEFT JOIN windows w ON w.account_id = a.id
    LEFT JOIN people p ON p.account_id = a.id
    LEFT JOIN other_sources o ON o.account_id = a.id
    WHERE a.organization_id = %(org)s
)
INSERT INTO integrations_accountusage (
    organization_id, account_id, last_seen_at, logins_7d, active_users_7d, seats, wau_per_seat,
    events_7d, events_prev_7d, events_28d, events_prev_28d, api_calls_7d,
    features_used_30d, features_total, feature_adoption_pct, wow_change_pct, trend_4w_pct, computed_at
)
SELECT %(org)s, account_id, last_seen_at, logins_7d, active_users_7d,
       -- Seats arrive with billing; accounts have no seat count yet, so neither is known.
       NULL, NULL,
       events_7d, events_prev_7d, events_28d, events_prev_28d, api_calls_7d,
       features_used_30d, features_total,
       100.0 * features_used_30d / nullif(features_total, 0),
       100.0 * (events_7d - events_prev_7d) / nullif(events_prev_7d, 0),
       100.0 * (events_28d - events_prev_28d) / nullif(events_prev_28d, 0),
       now()
FROM computed
ON CONFLICT (organization_id, account_id) DO UPDATE SET
    -- The rollup keeps last_seen_at from raw events; here it only moves forward for
    -- accounts known from CSV or connector rows (NULL otherwise, which greatest() skips).
    last_seen_at = greatest(integrations_accountusage.last_seen_at, EXCLUDED.last_seen_at),
    logins_7d = EXCLUDED.logins_7d,
    active_users_7d = EXCLUDED.active_users_7d,
    seats = EXCLUDED.seats,
    wau_per_seat = EXCLUDED.wau_per_seat,
    events_7d = EXCLUDED.events_7d,
    events_prev_7d = EXCLUDED.events_prev_7d,
    events_28d = EXCLUDED.events_28d,
    events_prev_28d = EXCLUDED.events_prev_28d,
    api_calls_7d = EXCLUDED.api_calls_7d,
    features_used_30d = EXCLUDED.features_used_30d,
    features_total = EXCLUDED.features_total,
    feature_adoption_pct = EXCLUDED.feature_adoption_pct,
    wow_change_pct = EXCLUDED.wow_change_pct,
    trend_4w_pct = EXCLUDED.trend_4w_pct,
    computed_at = EXCLUDED.computed_at
"""


def account_usage_refresh(*, organization: Organization, today: dt.date | None = None) -> int:
    """Recompute every account's ``AccountUsage`` row from the daily rows; returns rows written.

    One statement for the whole organization (windows, WAU, adoption, trends, upsert).
    """
    if today is None:
        today = dt.datetime.now(dt.UTC).date()
    midnight = dt.time(tzinfo=dt.UTC)
    params = {
        "org": organization.id,
        "today": today,
        "feature": str(EventRole.FEATURE),
        "prefix": EVENT_METRIC_PREFIX,
        "events": str(UsageSource.EVENTS),
        "week_start": dt.datetime.combine(today - dt.timedelta(days=6), midnight),
        "week_end": dt.datetime.combine(today + dt.timedelta(days=1), midnight),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_BULK_SETTINGS, [BULK_WORK_MEM])
        cursor.execute(_REFRESH_SQL, params)
        return cursor.rowcount


def organizations_with_dirty_days() -> list[int]:
    """Ids of the organizations with days waiting to be rolled up (all tenants: a beat's read)."""
    with scopes_disabled():
        return list(DirtyDay.objects.values_list("organization_id", flat=True).distinct().order_by())


def rollup_all_dirty() -> list[int]:
    """Enqueue a rollup (then a metric refresh) for each organization with dirty days."""
    organization_ids = organizations_with_dirty_days()
    for organization_id in organization_ids:
        # Called from the beat, outside any transaction: nothing to wait for before sending.
        rollup_usage.delay(organization_id)
    return organization_ids


# --- Tasks: one organization's rollup and refresh, in its scope ----------------------------


@shared_task(base=TenantTask, name="usage.rollup_usage")
def rollup_usage(organization_id: int) -> dict:
    """Roll up the organization's dirty days, then refresh its accounts' usage metrics."""
    organization = active_organization()
    result = rollup_dirty_days(organization=organization)
    refreshed = account_usage_refresh(organization=organization) if result.days else 0
    return {"days": result.days, "rows": result.rows, "accounts": refreshed}


@shared_task(base=TenantTask, name="usage.refresh_account_usage")
def refresh_account_usage(organization_id: int) -> int:
    return account_usage_refresh(organization=active_organization())
