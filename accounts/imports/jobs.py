"""CSV imports run from their ``AccountImport`` row: small ones in the request, large ones
by a worker, claimed once and written all together with their outcome.

Queuing bumps the job's attempt number and puts the task in the outbox, in one
transaction. The worker claims its attempt (queued → running, a conditional UPDATE) and
imports every row in one transaction with the job's final state, fenced by the attempt
number: a duplicate delivery, or a worker superseded by *Try again*, writes nothing. A
job that failed, or whose worker plainly died (queued or running for longer than any
task may run), can be tried again; a killed worker leaves nothing half-written.
"""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import asdict

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.imports.run import ImportResult, run_import
from accounts.models import AccountImport, ImportState
from cs_platform import outbox
from cs_platform.audit import audit_log
from cs_platform.csv_files import ImportRejected, RowError
from cs_platform.models import Organization, User
from cs_platform.tenant_task import TenantTask
from cs_platform.tenancy import active_organization

# No worker runs a task past CELERY_TASK_TIME_LIMIT: a job queued or running longer than
# this has lost its worker (or its message), and may be tried again.
STALLED_AFTER = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + dt.timedelta(minutes=5)
KEEP_STAGED = dt.timedelta(days=1)  # an upload nobody imported
KEEP_FINISHED = dt.timedelta(days=7)  # a background import's outcome, for its status page
UNEXPECTED_FAILURE = (
    "The import stopped on an unexpected error, and nothing was imported. Try again; "
    "if it fails again, tell your Tend operator (the worker's log has the details)."
)


def job_run_inline(*, organization: Organization, actor: User, job: AccountImport) -> ImportResult | None:
    """Import a small upload in the request, then forget it; None if a concurrent request
    (a double submit) took it first. Raises ``ImportRejected`` with nothing written."""
    with transaction.atomic():
        staged = AccountImport.objects.filter(pk=job.pk, state=ImportState.STAGED)
        # The claim rolls back with a rejected import, leaving the upload to be mapped again.
        if not staged.update(state=ImportState.RUNNING, started_at=timezone.now()):
            return None
        result = run_import(organization=organization, actor=actor, upload=job)
        job.delete()
    return result


@transaction.atomic
def job_queue(*, organization: Organization, actor: User, job: AccountImport) -> bool:
    """Hand a confirmed upload to a worker, or one that may be tried again (``job_can_retry``).

    False when it is already on its way, done, or not confirmed: a second submit does nothing.
    """
    queued = (
        AccountImport.objects.filter(pk=job.pk, columns__isnull=False)
        .filter(Q(state=ImportState.STAGED) | _retryable())
        .update(
            state=ImportState.QUEUED, attempt=F("attempt") + 1, started_by=actor, queued_at=timezone.now(),
            started_at=None, finished_at=None, summary="", failures=[],
        )
    )
    if not queued:
        return False
    job.refresh_from_db(fields=["state", "attempt", "queued_at", "started_at", "summary", "failures"])
    outbox.enqueue(run_account_import, organization.id, job.pk, job.attempt)
    audit_log(
        organization=organization, actor=actor, action="accounts.import_queued", target=job,
        changes={"file": job.filename, "rows": job.row_count, "attempt": job.attempt},
    )
    return True


def job_run(*, organization: Organization, job_id: int, attempt: int) -> None:
    """In a worker: run attempt ``attempt`` of a queued job, unless another delivery took it."""
    jobs = AccountImport.objects.filter(pk=job_id, attempt=attempt)
    if not jobs.filter(state=ImportState.QUEUED).update(state=ImportState.RUNNING, started_at=timezone.now()):
        return  # taken by another delivery of this task, queued again since, or purged
    job = jobs.select_related("started_by").get()
    try:
        with transaction.atomic():
            result = run_import(organization=organization, actor=job.started_by, upload=job)
            if not _finish(jobs, state=ImportState.DONE, summary=result.summary, rows=[]):
                raise _Superseded
    except _Superseded:
        pass  # queued again meanwhile: everything this attempt wrote is rolled back
    except ImportRejected as rejected:
        _finish(jobs, state=ImportState.FAILED, failures=[asdict(error) for error in rejected.errors])
    except Exception:
        with suppress(DatabaseError):  # if the database is what failed, the job shows as stalled later
            _finish(jobs, state=ImportState.FAILED, failures=[asdict(RowError(UNEXPECTED_FAILURE))])
        raise


def job_is_stalled(job: AccountImport) -> bool:
    """Queued or running for longer than any worker may take: its worker or its message is gone."""
    since = {ImportState.QUEUED: job.queued_at, ImportState.RUNNING: job.started_at}.get(job.state)
    return since is not None and since < timezone.now() - STALLED_AFTER


def job_can_retry(job: AccountImport) -> bool:
    return job.state == ImportState.FAILED or job_is_stalled(job)


def jobs_purge() -> int:
    """Forget uploads nobody imported a day after they came, and any a week after; returns how many."""
    now = timezone.now()
    # Housekeeping for every organization at once (beat has no tenant): it deletes by age only.
    with scopes_disabled():
        deleted, _ = AccountImport.objects.filter(
            Q(state=ImportState.STAGED, created_at__lt=now - KEEP_STAGED) | Q(created_at__lt=now - KEEP_FINISHED)
        ).delete()
    return deleted


class _Superseded(Exception):
    """The attempt a worker ran is no longer the job's current one."""


def _finish(jobs: QuerySet[AccountImport], **outcome: object) -> bool:
    """Record the outcome of the running attempt; False when it is no longer the current one."""
    return bool(jobs.filter(state=ImportState.RUNNING).update(finished_at=timezone.now(), **outcome))


def _retryable() -> Q:
    stalled_before = timezone.now() - STALLED_AFTER
    return (
        Q(state=ImportState.FAILED)
        | Q(state=ImportState.QUEUED, queued_at__lt=stalled_before)
        | Q(state=ImportState.RUNNING, started_at__lt=stalled_before)
    )


@shared_task(base=TenantTask, name="accounts.run_account_import")
def run_account_import(organization_id: int, job_id: int, attempt: int) -> None:
    """A large CSV import, in a worker: all rows or none, its outcome kept for the status page."""
    job_run(organization=active_organization(), job_id=job_id, attempt=attempt)
