"""Celery tasks of the product-database connectors: one run, and beat's sweep of due connectors."""

from __future__ import annotations

from celery import shared_task

from cs_platform.tasks import TenantTask


@shared_task(base=TenantTask, name="usage.run_connector")
def run_connector(organization_id: int, run_id: int) -> None:
    from usage import connectors
    from usage.models import ConnectorRun

    run = ConnectorRun.objects.select_related("connector", "organization").filter(pk=run_id).first()
    if run is None:
        return  # the connector was deleted meanwhile
    connectors.connector_run(run=run)


@shared_task(name="usage.connectors_due")
def connectors_due() -> int:
    """Queue a run of every enabled connector whose time has come, in every organization."""
    from usage import connectors

    return connectors.connectors_enqueue_due()
