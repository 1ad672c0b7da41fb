"""Beat's fan-outs for product usage: rollups of dirty days, nightly metric refreshes,
housekeeping, and due connectors. The tasks for one organization sit beside their services."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.db import connection
from django.db.models import Exists, OuterRef
from django_scopes import scopes_disabled

from cs_platform import outbox

# Celery's autodiscovery imports only this module of each app: the tasks that sit beside
# their services are imported here, so a worker (and the outbox's sender) knows them all.
from usage.connectors.services import run_connector  # noqa: F401
from usage.rollups import refresh_account_usage, rollup_usage  # noqa: F401

# How long a messageId is remembered, so a client's retry is not stored twice.
DEFAULT_DEDUP_DAYS = 8


@shared_task(name="usage.rollup_due")
def rollup_due() -> list[int]:
    """Every minute (beat): a rollup for each organization with days noted dirty."""
    from usage.rollups import rollup_all_dirty

    # Scopes are disabled inside: this is the one read across all tenants, and it
    # only collects organization ids; each rollup then runs in its own tenant scope.
    return rollup_all_dirty()


@shared_task(name="usage.refresh_all_account_usage")
def refresh_all_account_usage() -> list[int]:
    """Nightly (beat): windows move with the date even when no event arrives."""
    from cs_platform.models import Organization
    from usage.models import UsageDaily

    # A cross-tenant read of organization ids only; the refreshes run in their own scopes.
    with scopes_disabled():
        organization_ids = list(
            Organization.objects.filter(Exists(UsageDaily.objects.filter(organization=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    for organization_id in organization_ids:
        # Through the outbox: a night's refresh whose send failed goes once the broker is back.
        outbox.enqueue(refresh_account_usage, organization_id)
    return organization_ids


@shared_task(name="usage.purge_seen_messages")
def purge_seen_messages() -> int:
    """Daily (beat): forget messageIds older than the dedup window; returns rows deleted."""
    days = getattr(settings, "USAGE_DEDUP_DAYS", DEFAULT_DEDUP_DAYS)
    cutoff = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    # Across all organizations in one statement; the BRIN index on seen_on finds the old rows.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM integrations_seenmessage WHERE seen_on < %s", [cutoff])
        return cursor.rowcount


@shared_task(name="usage.ensure_usage_partitions")
def ensure_usage_partitions() -> dict[str, list[str]]:
    """Daily (beat): keep this month's and the next three months' event partitions ready,
    and drop the months past ``USAGE_RAW_RETENTION_MONTHS`` (when set)."""
    from usage import partitions

    today = dt.date.today()
    return {
        "ready": partitions.ensure_ahead(today),
        "dropped": partitions.drop_older_than(today, settings.USAGE_RAW_RETENTION_MONTHS),
    }


@shared_task(name="usage.connectors_due")
def connectors_due() -> int:
    """Every few minutes (beat): a run of every enabled connector whose time has come."""
    from usage.connectors.services import connectors_enqueue_due

    return connectors_enqueue_due()
