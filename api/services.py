"""Writes of the API app: making and revoking tokens. Each is atomic and audited."""

from __future__ import annotations

from api.models import ApiToken
from cs_platform.credentials import credential_create, credential_revoke
from cs_platform.models import Organization, User


def api_token_create(*, organization: Organization, actor: User | None, label: str) -> tuple[ApiToken, str]:
    """A new token for ``organization``; returns the row and the token itself.

    The caller shows the token once: only its hash is stored, so it cannot be shown again.
    """
    return credential_create(ApiToken, organization=organization, actor=actor, label=label)


def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Stop ``token`` working, from its next request on; the row stays for the record."""
    return credential_revoke(token, actor=actor)
