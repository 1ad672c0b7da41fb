"""Beat's fan-outs of the tenancy core. Tasks for one organization sit beside their services;
importing them here is what registers them with a worker (Celery's autodiscovery reads
only each app's ``tasks``)."""

from __future__ import annotations

from celery import shared_task

# Also connects the outbox's "task finished" signal in every worker.
from cs_platform import outbox
from cs_platform.services import send_invitation_email  # noqa: F401


@shared_task(name="cs_platform.send_outbox")
def send_outbox() -> int:
    """Every minute (beat): tasks whose first send failed, or that never finished, go again."""
    return outbox.send_due().sent
