"""Reads of product-database connectors for the admins' pages."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from usage.models import ConnectorRun, UsageConnector


def connectors_with_last_run() -> QuerySet[UsageConnector]:
    """The organization's connectors, each with ``last_run_id`` annotated (see :func:`runs_by_id`)."""
    last = ConnectorRun.objects.filter(connector=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1]
    return UsageConnector.objects.annotate(last_run_id=Subquery(last)).order_by("name", "id")


def runs_by_id(ids: list[int]) -> dict[int, ConnectorRun]:
    return ConnectorRun.objects.in_bulk([run_id for run_id in ids if run_id])


def connector_runs(connector: UsageConnector) -> QuerySet[ConnectorRun]:
    """A connector's runs, newest first (index ``connector_run_recent``)."""
    return ConnectorRun.objects.filter(connector=connector).select_related("triggered_by").order_by("-created_at", "-id")
