"""Beat's fan-outs of the accounts app. Tasks for one organization sit beside their services;
importing them here is what registers them with a worker."""

from __future__ import annotations

from celery import shared_task

from accounts.imports import jobs as import_jobs
from accounts.imports.jobs import run_account_import  # noqa: F401
from accounts.services import notify_csm_of_handoff  # noqa: F401


@shared_task(name="accounts.purge_imports")
def purge_imports() -> int:
    """Daily (beat): uploads nobody imported, and old imports' outcomes."""
    return import_jobs.jobs_purge()
