"""Writes of product-database connectors: saving, deleting, testing and running them.

A run is one transaction on Tend's side: a bad row, a timeout or an error keeps nothing,
and is recorded on the run for the admin to read. ``run_connector`` is the worker's task
for one run; beat's sweep of due connectors is ``usage.tasks.connectors_due``.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import closing
from dataclasses import dataclass, field

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cs_platform import outbox, secrets
from cs_platform.audit import audit_log, diff
from cs_platform.models import Organization, User
from cs_platform.tenant_task import TenantTask
from usage.connectors.dsn import dsn_check, dsn_hint
from usage.connectors.reading import (
    COLUMNS, RUN_STALE_AFTER, TEST_SAMPLE_ROWS, TEST_STATEMENT_TIMEOUT_MS, UNMATCHED_SAMPLE_SIZE, ConnectorError,
    check_row, query_check, read, statement_timeout_ms,
)
from usage.models import ConnectorRun, ConnectorSchedule, RunStatus, UsageConnector, UsageDaily, UsageSource

logger = logging.getLogger(__name__)


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
        with closing(read(dsn, query, None, timeout_ms=TEST_STATEMENT_TIMEOUT_MS, limit=TEST_SAMPLE_ROWS)) as chunks:
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
            check_row(number, row)
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
    from usage.rollups import refresh_account_usage  # rollups read connectors' rows: imported when needed

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
    with closing(read(dsn, connector.query, run.since, timeout_ms=statement_timeout_ms())) as chunks:
        for _columns, rows in chunks:
            _import_chunk(run, rows, tally, known)
    return tally


def _import_chunk(run: ConnectorRun, rows: list[tuple], tally: _Tally, known: dict[str, int | None]) -> None:
    from usage.selectors import accounts_by_external_id
    from usage.services import usage_rows_upsert

    checked = []
    for row in rows:
        tally.read += 1
        checked.append(check_row(tally.read, row))
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


@shared_task(base=TenantTask, name="usage.run_connector")
def run_connector(organization_id: int, run_id: int) -> None:
    run = ConnectorRun.objects.select_related("connector", "organization").filter(pk=run_id).first()
    if run is None:
        return  # the connector was deleted meanwhile
    connector_run(run=run)
