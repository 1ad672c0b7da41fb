"""The tenancy core: tenant-owned models, public ids, and the active scope.

Every tenant-owned row has a direct ``organization`` foreign key and is read
through django-scopes' ``ScopedManager``: a query with no active organization
scope raises ``ScopeError`` instead of quietly returning every tenant's rows.
"""

from __future__ import annotations

import secrets
from typing import TypeVar

from django.db import models
from django.http import Http404
from django_scopes import ScopedManager, get_scope

PUBLIC_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case


def new_public_id() -> str:
    """A short, unguessable id for URLs (never the database's sequential id)."""
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(12))


class TenantModel(models.Model):
    """Base for every row that belongs to one organization."""

    organization = models.ForeignKey("cs_platform.Organization", on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=12, default=new_public_id, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(organization="organization")

    class Meta:
        abstract = True
        constraints = [
            # Led by the tenant column, as every tenant index is (the shard key).
            models.UniqueConstraint(
                fields=["organization", "public_id"], name="%(app_label)s_%(class)s_public_id"
            ),
        ]


Tenant = TypeVar("Tenant", bound=TenantModel)


def active_organization():
    """The organization whose scope is active; raises if there is none."""
    organization = get_scope().get("organization")
    if organization is None or organization is True:
        raise LookupError("No organization scope is active.")
    return organization


def get_for_org_or_404(queryset: models.QuerySet[Tenant], public_id: str) -> Tenant:
    """Fetch a row of the active organization by public id.

    "Not yours" and "does not exist" are the same 404, so ids from another
    organization reveal nothing.
    """
    try:
        return queryset.get(organization=active_organization(), public_id=public_id)
    except queryset.model.DoesNotExist:
        raise Http404 from None
