"""Reads of the integrations app: keys, definitions, identities and external ids."""

from __future__ import annotations

from typing import Iterable

from django.db import connection
from django.db.models import QuerySet

from cs_platform.tenancy import active_organization
from integrations.models import EventDefinition, EventRole, WriteKey

# When one external id belongs to accounts in several systems, the product's own wins.
PRODUCT_SOURCE = "product"


def write_keys() -> QuerySet[WriteKey]:
    """The organization's write keys for the settings page: newest first, revoked ones too."""
    return WriteKey.objects.select_related("created_by").order_by("-created_at", "-id")


def event_names(role: EventRole) -> list[str]:
    """The event names the organization has given ``role`` (its features, its login events…)."""
    return list(EventDefinition.objects.filter(role=role).values_list("event_name", flat=True))


def event_definitions() -> QuerySet[EventDefinition]:
    return EventDefinition.objects.order_by("role", "position", "event_name")


def accounts_by_external_id(external_ids: Iterable[str]) -> dict[str, int]:
    """``{external id: account id}`` for those of ``external_ids`` that name an account.

    Any system's external id counts (the product's usually is the CRM's or billing's);
    where two accounts share one, the ``product`` source's wins, then the oldest.
    """
    wanted = sorted({value for value in external_ids if value})
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (external_id) external_id, account_id
            FROM accounts_accountexternalid
            WHERE organization_id = %s AND external_id = ANY(%s)
            ORDER BY external_id, (source <> %s), id
            """,
            [active_organization().id, wanted, PRODUCT_SOURCE],
        )
        return dict(cursor.fetchall())
