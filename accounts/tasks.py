"""Celery tasks of the accounts app: thin, ids in, a service out."""

from __future__ import annotations

from celery import shared_task

from cs_platform.tasks import MAIL_RETRY, TenantTask


@shared_task(base=TenantTask, name="accounts.notify_csm_of_handoff", **MAIL_RETRY)
def notify_csm_of_handoff(organization_id: int, handoff_id: int) -> None:
    from accounts.services import handoff_notify_csm

    handoff_notify_csm(handoff_id=handoff_id)


@shared_task(base=TenantTask, name="accounts.run_account_import")
def run_account_import(organization_id: int, job_id: int, attempt: int) -> None:
    """A large CSV import, in a worker: all rows or none, its outcome kept for the status page."""
    from accounts import import_jobs
    from cs_platform.tenancy import active_organization

    import_jobs.job_run(organization=active_organization(), job_id=job_id, attempt=attempt)


@shared_task(name="accounts.purge_imports")
def purge_imports() -> int:
    """Daily (beat): uploads nobody imported, and old imports' outcomes."""
    from accounts import import_jobs

    return import_jobs.jobs_purge()
