"""API tokens: how another system reads an organization's data without a person's login."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cs_platform.tenancy import TenantModel

TOKEN_MARKER = "tend_"
# How much of a token is kept in the clear: the marker plus a few random characters,
# enough to tell an organization's tokens apart on screen, far too few to guess the rest.
PREFIX_LENGTH = len(TOKEN_MARKER) + 4


class ApiToken(TenantModel):
    """A bearer token giving read access to one organization's API.

    Only the SHA-256 of the token is stored; the token itself is shown once, when made.
    """

    label = models.CharField(max_length=100, help_text="What uses this token, e.g. “Data warehouse sync”.")
    # Unique across tenants: a request presents a token and nothing else, so its hash
    # alone must find the one organization it belongs to.
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "prefix"], name="api_token_org_prefix")]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
