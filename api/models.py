"""API tokens: how another system reads an organization's data without a person's login."""

from __future__ import annotations

from django.db import models

from cs_platform.credentials import Credential

class ApiToken(Credential):
    """A bearer token giving read access to one organization's API.

    Only the SHA-256 of the token is stored; the token itself is shown once, when made.
    """

    MARKER = "tend_"
    HASH_FIELD = "token_hash"
    NOUN = "token"
    AUDIT_NAME = "api_token"

    label = models.CharField(max_length=100, help_text="What uses this token, e.g. “Data warehouse sync”.")
    # Unique across tenants: a request presents a token and nothing else, so its hash
    # alone must find the one organization it belongs to.
    token_hash = models.CharField(max_length=64, unique=True)

    class Meta(Credential.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "prefix"], name="api_token_org_prefix")]
