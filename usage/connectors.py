"""Product-database connectors (seed 001): a read-only query against the product's own
PostgreSQL, run on a schedule, whose ``(account_external_id, day, metric, value)`` rows
become ``UsageDaily`` rows of source ``connector``.

The query may read incrementally with ``%(since)s``: the first day not yet fully
imported (NULL on the first run, so write e.g. ``day >= coalesce(%(since)s::date,
'1970-01-01')``). When it does, a literal ``%`` in it must be written ``%%``.

Safety on the product's side: every query runs in a read-only transaction with a
statement timeout, through a server-side cursor; Tend never writes there. Where it may
connect at all is ``connector_dsn``'s and ``cs_platform.outbound``'s to decide, before
every connection. On Tend's side a run is one transaction: a bad row, a timeout or an
error keeps nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import re
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Iterator

import psycopg
import sqlparse
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date

from cs_platform import outbound, outbox, secrets
from cs_platform.audit import audit_log, diff
from cs_platform.models import Organization, User
from usage.connector_dsn import connection_params, dsn_check, dsn_hint, dsn_parse, unreachable
from usage.models import ConnectorRun, ConnectorSchedule, RunStatus, UsageConnector, UsageDaily, UsageSource

logger = logging.getLogger(__name__)

SINCE_PLACEHOLDER = "%(since)s"
DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60 * 1000
TEST_STATEMENT_TIMEOUT_MS = 30 * 1000
FETCH_ROWS = 10_000
UNMATCHED_SAMPLE_SIZE = 20
METRIC_MAX_LENGTH = 200
TEST_SAMPLE_ROWS = 5
COLUMNS = ("account_external_id", "day", "metric", "value")
# A run still queued or running after this long is taken to be lost (its worker died).
RUN_STALE_AFTER = dt.timedelta(minutes=35)

EXAMPLE_QUERY = """SELECT company_id AS account_external_id,
       day,
       'active_users' AS metric,
       count(DISTINCT user_id) AS value
FROM daily_activity
WHERE day >= coalesce(%(since)s::date, current_date - 90)
GROUP BY company_id, day"""


class ConnectorError(Exception):
    """A run or a test failed for a reason an admin can read and act on (no secrets in it)."""


# --- Connection strings and queries ----------------------------------------------------


def _statements(query: str) -> list[str]:
    """The statements of ``query`` that hold more than comments."""
    return [part for part in sqlparse.split(query) if sqlparse.format(part, strip_comments=True).strip(" \t\r\n;")]


def query_check(query: str) -> str:
    """``query`` trimmed if it is one SELECT (or WITH … SELECT); else ValidationError on ``query``."""
    query = query.strip()
    if not query:
        raise ValidationError({"query": "Enter the SQL query that returns the usage rows."})
    statements = _statements(query)
    if len(statements) > 1:
        raise ValidationError(
            {"query": f"Enter a single statement: this one has {len(statements)} (separated by “;”). "
                      "Combine them with WITH … SELECT or UNION ALL."}
        )
    executable = _executable(query)
    if not re.match(r"^\(*\s*(select|with)\b", executable, re.IGNORECASE):
        first = executable.split(None, 1)[0][:30] if executable else ""
        raise ValidationError(
            {"query": f"The query must start with SELECT or WITH (it starts with “{first}”): connectors only read."}
        )
    return query


def _executable(query: str) -> str:
    """The query as sent: comments and the trailing ``;`` dropped, so it can be wrapped."""
    return sqlparse.format(query, strip_comments=True).strip().rstrip(";").strip()


def _parameters(query: str, since: dt.date | None) -> dict[str, Any] | None:
    # Without parameters psycopg leaves "%" alone, so only queries using %(since)s need "%%".
    return {"since": since} if SINCE_PLACEHOLDER in query else None


# --- Reading the product database ------------------------------------------------------


def statement_timeout_ms() -> int:
    return int(getattr(settings, "CONNECTOR_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS))


def _connect(dsn: str, *, timeout_ms: int) -> psycopg.Connection:
    """A connection whose every transaction is read-only and whose statements time out."""
    try:
        params = dsn_parse(dsn)
    except ValidationError as error:
        raise ConnectorError(" ".join(error.messages)) from None
    try:
        connection = psycopg.connect(**connection_params(params, application_name="tend-connector"), autocommit=True)
    except outbound.Refused as refusal:
        raise ConnectorError(str(refusal)) from None
    except (outbound.Unresolved, psycopg.Error) as error:
        # Refused, timed out, no route, not PostgreSQL, authentication: one message for all, so
        # that no one can map which ports of a network are open. The operator's log has libpq's.
        logger.info("Connector connection to %s:%s failed: %s", params["host"], params.get("port", ""), error)
        raise ConnectorError(unreachable(params)) from None
    try:
        # Session-wide, and again per transaction below: belt and braces, as the query is an admin's text.
        connection.execute("SELECT set_config('default_transaction_read_only', 'on', false)")
        connection.execute("SELECT set_config('statement_timeout', %s, false)", [str(timeout_ms)])
    except psycopg.Error as error:
        connection.close()
        raise ConnectorError(f"Could not prepare the product database session: {_primary(error)}") from None
    return connection


def _primary(error: psycopg.Error) -> str:
    """The server's one-line message: what went wrong, without libpq's context lines."""
    diag = getattr(error, "diag", None)
    primary = (diag.message_primary if diag is not None else None) or str(error)
    return primary.strip().splitlines()[0] if primary.strip() else type(error).__name__


def _query_error(error: psycopg.Error, timeout_ms: int) -> ConnectorError:
    """A driver error as a sentence for the admin."""
    diag = getattr(error, "diag", None)
    primary = _primary(error)
    if isinstance(error, psycopg.errors.QueryCanceled):
        minutes = timeout_ms / 60000
        limit = f"{minutes:g} minutes" if minutes >= 1 else f"{timeout_ms / 1000:g} seconds"
        return ConnectorError(
            f"The query ran longer than the {limit} allowed and was cancelled. Make it cheaper: read from "
            "%(since)s on, or use an index on the day column."
        )
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction) or "data-modifying" in primary:
        return ConnectorError(
            f"The query tried to change the product database ({primary}). Connectors only read: "
            "use a SELECT that writes nothing."
        )
    if diag is None or diag.sqlstate is None:  # the server said nothing: the connection broke
        return ConnectorError(f"The connection to the product database failed: {primary}")
    hint = diag.message_hint
    return ConnectorError(f"The query failed: {primary}." + (f" Hint: {hint}" if hint else ""))


def _read(dsn: str, query: str, since: dt.date | None, *, timeout_ms: int, limit: int | None = None) -> Iterator[tuple[list[str], list[tuple]]]:
    """Yield ``(column names, rows)`` chunks of the query's result, read-only, server-side."""
    sql = _executable(query)
    if limit is not None:
        sql = f"SELECT * FROM (\n{sql}\n) AS tend_sample LIMIT {int(limit)}"
    connection = _connect(dsn, timeout_ms=timeout_ms)
    try:
        with connection.transaction():
            connection.execute("SET TRANSACTION READ ONLY")
            # A named cursor streams the result instead of loading it whole into memory.
            with connection.cursor(name="tend_connector") as cursor:
                cursor.execute(sql, _parameters(query, since))
                columns = [column.name for column in cursor.description or []]
                while rows := cursor.fetchmany(FETCH_ROWS if limit is None else limit):
                    yield columns, rows
    except psycopg.Error as error:
        raise _query_error(error, timeout_ms) from None
    finally:
        connection.close()


# --- Row checks ------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 80 else text[:77] + "…"


def _check_row(number: int, row: tuple) -> tuple[str, dt.date, str, float]:
    """One result row as ``(external id, day, metric, value)``; ConnectorError naming what is wrong."""
    if len(row) != len(COLUMNS):
        raise ConnectorError(
            f"Row {number} has {len(row)} columns; the query must return exactly 4: {', '.join(COLUMNS)}."
        )
    external_id, day, metric, value = row

    def bad(column: str, why: str, shown: Any) -> ConnectorError:
        return ConnectorError(f"Row {number}, column {column}: {_shown(shown)} {why}")

    if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
        raise bad("account_external_id", "is not text: return the account's id in your product as text.", external_id)
    external_id = str(external_id).strip()
    if not external_id:
        raise bad("account_external_id", "is empty: every row needs the account's id.", row[0])

    if isinstance(day, dt.datetime):
        day = (day.astimezone(dt.UTC) if day.tzinfo else day).date()
    elif isinstance(day, str):
        try:
            parsed = parse_date(day.strip())
        except ValueError:  # well-formed but impossible, e.g. 2026-02-30
            parsed = None
        if parsed is None:
            raise bad("day", "is not a date: return a date, or text such as 2026-03-31.", day)
        day = parsed
    elif not isinstance(day, dt.date):
        raise bad("day", "is not a date: return a date, or text such as 2026-03-31.", day)

    if not isinstance(metric, str) or not metric.strip():
        raise bad("metric", "is not a metric name: return non-empty text such as 'logins'.", metric)
    metric = metric.strip()
    if len(metric) > METRIC_MAX_LENGTH:
        raise bad("metric", f"is longer than {METRIC_MAX_LENGTH} characters.", metric)

    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise bad("value", "is not a number: return a numeric column (cast text with value::numeric).", value)
    number_value = float(value)
    if not math.isfinite(number_value):
        raise bad("value", "is not a finite number.", value)
    return external_id, day, metric, number_value


# --- Services --------------------------------------------------------------------------


@transaction.atomic
def connector_save(
    *,
    organization: Organization,
    actor: User | None,
    connector: UsageConnector | None = None,
    name: str,
    dsn: str,
    query: str,
    schedule_minutes: int,
    enabled: bool,
) -> UsageConnector:
    """Create ``connector`` (None) or update it; an empty ``dsn`` on update keeps the stored one."""
    errors: dict[str, list] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Give the connector a name, e.g. “Product DB: daily activity”."]
    hint = None
    if dsn.strip() or connector is None:
        try:
            hint = dsn_hint(dsn_check(dsn))
        except ValidationError as error:
            errors.update(error.message_dict)
    try:
        query = query_check(query)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        schedule_minutes = int(schedule_minutes)
    except (TypeError, ValueError):
        schedule_minutes = None
    if schedule_minutes not in ConnectorSchedule.values:
        errors["schedule_minutes"] = ["Choose one of the schedules offered."]
    if errors:
        raise ValidationError(errors)

    creating = connector is None
    if creating:
        connector = UsageConnector(organization=organization, created_by=actor if actor and actor.is_authenticated else None)
    else:
        connector = UsageConnector.objects.select_for_update().get(pk=connector.pk)
        before = {field: getattr(connector, field) for field in ("name", "dsn_hint", "query", "schedule_minutes", "enabled")}
    connector.name = name
    connector.query = query
    schedule_changed = not creating and connector.schedule_minutes != schedule_minutes
    connector.schedule_minutes = schedule_minutes
    enabling = not creating and enabled and not connector.enabled
    connector.enabled = enabled
    if hint is not None:
        connector.dsn_encrypted = secrets.encrypt(dsn.strip())
        connector.dsn_hint = hint
    if creating or enabling:
        connector.next_run_at = timezone.now()
    elif schedule_changed:
        last = connector.runs.filter(status=RunStatus.SUCCEEDED).order_by("-created_at").values_list("finished_at", flat=True).first()
        connector.next_run_at = (last or timezone.now()) + dt.timedelta(minutes=connector.schedule_minutes)
    connector.full_clean(exclude=["organization", "created_by", "public_id"])
    connector.save()

    if creating:
        changes = {"name": name, "dsn_hint": connector.dsn_hint, "schedule_minutes": connector.schedule_minutes, "enabled": enabled}
        audit_log(organization=organization, actor=actor, action="usage_connector.created", target=connector, changes=changes)
    else:
        changes = diff(connector, before, list(before))
        if hint is not None:
            changes["dsn"] = "replaced"  # never the secret itself
        if changes:
            audit_log(organization=organization, actor=actor, action="usage_connector.updated", target=connector, changes=changes)
    return connector


@transaction.atomic
def connector_delete(*, connector: UsageConnector, actor: User | None) -> int:
    """Delete ``connector``, its runs and the usage rows it imported; returns rows removed.

    Its rows go with it: they are keyed by its id, so a connector made again would
    otherwise count the same usage twice.
    """
    organization = connector.organization
    removed, _ = UsageDaily.objects.filter(source=UsageSource.CONNECTOR, source_ref=connector.public_id).delete()
    audit_log(
        organization=organization, actor=actor, action="usage_connector.deleted", target=connector,
        changes={"name": connector.name, "usage_rows_removed": removed},
    )
    connector.delete()
    if removed:
        _refresh_account_usage(organization)
    return removed


@dataclass
class TestResult:
    columns: list[str] = field(default_factory=list)  # as the query names them
    rows: list[tuple] = field(default_factory=list)  # at most TEST_SAMPLE_ROWS, of the 4 declared columns
    error: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def headers(self) -> tuple[str, ...]:
        return COLUMNS


def connector_test(dsn: str, query: str) -> TestResult:
    """Connect and run ``query`` limited to 5 rows (``since`` NULL), for the form's test button.

    Rows are shown only when the query returns the 4 declared columns: a sample is for
    checking the import, not a way to browse whatever a query can reach.
    """
    try:
        dsn_check(dsn)
        query_check(query)
    except ValidationError as error:
        return TestResult(error=" ".join(error.messages))
    result = TestResult()
    rows: list[tuple] = []
    try:
        with closing(_read(dsn, query, None, timeout_ms=TEST_STATEMENT_TIMEOUT_MS, limit=TEST_SAMPLE_ROWS)) as chunks:
            for columns, chunk in chunks:
                result.columns = columns
                rows.extend(chunk)
                if len(rows) >= TEST_SAMPLE_ROWS:
                    break  # whatever the query's text did to the LIMIT around it
    except ConnectorError as error:
        return TestResult(error=str(error))
    if result.columns and len(result.columns) != len(COLUMNS):
        result.problems.append(
            f"The query returns {len(result.columns)} columns ({', '.join(result.columns)}); "
            f"it must return exactly 4: {', '.join(COLUMNS)}."
        )
        return result
    result.rows = rows[:TEST_SAMPLE_ROWS]
    for number, row in enumerate(result.rows, start=1):
        try:
            _check_row(number, row)
        except ConnectorError as error:
            result.problems.append(str(error))
    return result


@transaction.atomic
def connector_run_now(*, connector: UsageConnector, actor: User | None) -> ConnectorRun:
    """Queue a run of ``connector`` now, unless one is already queued or running."""
    pending = connector.runs.filter(
        status__in=[RunStatus.QUEUED, RunStatus.RUNNING], created_at__gte=timezone.now() - RUN_STALE_AFTER
    ).first()
    if pending is not None:
        raise ValidationError(f"A run of “{connector.name}” is already {pending.get_status_display().lower()}; wait for it to finish.")
    run = _run_enqueue(connector, actor)
    audit_log(organization=connector.organization, actor=actor, action="usage_connector.run_requested", target=connector)
    return run


def _run_enqueue(connector: UsageConnector, actor: User | None) -> ConnectorRun:
    from usage.connector_tasks import run_connector

    run = ConnectorRun.objects.create(
        organization_id=connector.organization_id,
        connector=connector,
        since=connector.since,
        triggered_by=actor if actor is not None and actor.is_authenticated else None,
    )
    outbox.enqueue(run_connector, connector.organization_id, run.id)
    return run


def connectors_enqueue_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Queue a run of every enabled connector that is due, in every organization; returns how many.

    Runs outside any tenant scope (beat has none). Rows locked by a concurrent beat are
    skipped, and ``next_run_at`` moves on in the same transaction, so no connector is
    queued twice.
    """
    from django_scopes import scopes_disabled

    now = now or timezone.now()
    # Beat serves every organization at once; each run is then a TenantTask in its own
    # organization's scope. This query reads connectors only, to hand them out.
    with scopes_disabled(), transaction.atomic():
        due = list(
            UsageConnector.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at")[:limit]
        )
        for connector in due:
            _run_enqueue(connector, None)
            connector.next_run_at = now + dt.timedelta(minutes=connector.schedule_minutes)
            connector.save(update_fields=["next_run_at"])
    return len(due)


def _refresh_account_usage(organization: Organization) -> None:
    from usage.tasks import refresh_account_usage  # written alongside; imported when needed

    outbox.enqueue(refresh_account_usage, organization.id)


def _claim(run: ConnectorRun) -> bool:
    """Mark ``run`` running if it still is queued; False when another worker took it."""
    now = timezone.now()
    taken = ConnectorRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, since=run.connector.since
    )
    if taken:
        run.status, run.started_at, run.since = RunStatus.RUNNING, now, run.connector.since
    return bool(taken)


@dataclass
class _Tally:
    read: int = 0
    upserted: int = 0
    unmatched: int = 0
    unmatched_sample: list[str] = field(default_factory=list)
    last_day: dt.date | None = None


def _import(run: ConnectorRun, dsn: str) -> _Tally:
    """Read the product rows and upsert the matched ones; raises ConnectorError, writes in the caller's transaction."""
    connector = run.connector
    tally = _Tally()
    known: dict[str, int | None] = {}
    # Closed early on a bad row, so the product transaction ends at once.
    with closing(_read(dsn, connector.query, run.since, timeout_ms=statement_timeout_ms())) as chunks:
        for _columns, rows in chunks:
            _import_chunk(run, rows, tally, known)
    return tally


def _import_chunk(run: ConnectorRun, rows: list[tuple], tally: _Tally, known: dict[str, int | None]) -> None:
    from usage.selectors import accounts_by_external_id
    from usage.services import usage_rows_upsert

    checked = []
    for row in rows:
        tally.read += 1
        checked.append(_check_row(tally.read, row))
    new_ids = {row[0] for row in checked} - known.keys()
    if new_ids:
        found = accounts_by_external_id(new_ids)
        known.update({external_id: found.get(external_id) for external_id in new_ids})
    # One value per (account, day, metric) per statement (the last wins): an upsert
    # cannot touch a row twice, and two ids may name one account.
    matched: dict[tuple[int, dt.date, str], float] = {}
    for external_id, day, metric, value in checked:
        tally.last_day = day if tally.last_day is None else max(tally.last_day, day)
        account_id = known[external_id]
        if account_id is None:
            tally.unmatched += 1
            if len(tally.unmatched_sample) < UNMATCHED_SAMPLE_SIZE and external_id not in tally.unmatched_sample:
                tally.unmatched_sample.append(external_id)
            continue
        matched[(account_id, day, metric)] = value
    tally.upserted += usage_rows_upsert(
        organization=run.organization,
        source=UsageSource.CONNECTOR,
        source_ref=run.connector.public_id,
        rows=[(account_id, day, metric, value) for (account_id, day, metric), value in matched.items()],
    )


def connector_run(*, run: ConnectorRun) -> ConnectorRun:
    """Run a queued ``run``: read the product rows, upsert them, and record the outcome.

    Nothing is kept of a failed run; either way the connector's next run is scheduled.
    """
    connector = run.connector
    if not _claim(run):
        return run
    tally = _Tally()
    error = ""
    try:
        dsn = secrets.decrypt(connector.dsn_encrypted)
        with transaction.atomic():
            tally = _import(run, dsn)
    except (ConnectorError, secrets.SecretError) as failure:
        error = str(failure)
    except Exception:  # noqa: BLE001 - the run must end recorded, whatever broke
        logger.exception("Connector run %s failed unexpectedly", run.pk)
        error = "The run failed on Tend's side with an unexpected error; it has been logged. Try again later."

    now = timezone.now()
    with transaction.atomic():
        connector = UsageConnector.objects.select_for_update().get(pk=connector.pk)
        run.finished_at = now
        if error:
            run.status, run.error = RunStatus.FAILED, error
            run.rows_read = run.rows_upserted = run.rows_unmatched = 0
            run.unmatched_sample = []
        else:
            run.status, run.error = RunStatus.SUCCEEDED, ""
            run.rows_read, run.rows_upserted = tally.read, tally.upserted
            run.rows_unmatched, run.unmatched_sample = tally.unmatched, tally.unmatched_sample
            if tally.last_day is not None:
                # Re-read the last day next time: its values change until it is over.
                connector.since = tally.last_day
        run.save(update_fields=[
            "status", "error", "finished_at", "rows_read", "rows_upserted", "rows_unmatched", "unmatched_sample",
        ])
        connector.next_run_at = now + dt.timedelta(minutes=connector.schedule_minutes)
        connector.save(update_fields=["since", "next_run_at"])
        if not error and tally.upserted:
            _refresh_account_usage(run.organization)
    run.connector = connector
    return run


# --- Reads for the pages ---------------------------------------------------------------


def connectors_with_last_run() -> QuerySet[UsageConnector]:
    """The organization's connectors, each with ``last_run_id`` annotated (see :func:`runs_by_id`)."""
    last = ConnectorRun.objects.filter(connector=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1]
    return UsageConnector.objects.annotate(last_run_id=Subquery(last)).order_by("name", "id")


def runs_by_id(ids: list[int]) -> dict[int, ConnectorRun]:
    return ConnectorRun.objects.in_bulk([run_id for run_id in ids if run_id])


def connector_runs(connector: UsageConnector) -> QuerySet[ConnectorRun]:
    """A connector's runs, newest first (index ``connector_run_recent``)."""
    return ConnectorRun.objects.filter(connector=connector).select_related("triggered_by").order_by("-created_at", "-id")
