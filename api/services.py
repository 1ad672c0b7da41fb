"""Writes of the API app: making and revoking tokens. Each is atomic and audited."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from api.models import PREFIX_LENGTH, TOKEN_MARKER, ApiToken
from cs_platform.audit import audit_log
from cs_platform.models import Organization, User
from cs_platform.selectors import token_hash


@transaction.atomic
def api_token_create(*, organization: Organization, actor: User | None, label: str) -> tuple[ApiToken, str]:
    """A new token for ``organization``; returns the row and the token itself.

    The caller shows the token once: only its hash is stored, so it cannot be shown again.
    """
    plaintext = TOKEN_MARKER + secrets.token_urlsafe(32)
    token = ApiToken(
        organization=organization,
        label=label.strip(),
        token_hash=token_hash(plaintext),
        prefix=plaintext[:PREFIX_LENGTH],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    token.full_clean(exclude=["organization", "created_by"])
    token.save()
    audit_log(
        organization=organization,
        actor=actor,
        action="api_token.created",
        target=token,
        changes={"label": token.label, "prefix": token.prefix},
    )
    return token, plaintext


@transaction.atomic
def api_token_revoke(*, token: ApiToken, actor: User | None) -> ApiToken:
    """Stop ``token`` working, from its next request on; the row stays for the record."""
    # Locked, so two people revoking at once record one revocation, not two.
    stored = ApiToken.objects.select_for_update().get(pk=token.pk)
    if stored.revoked_at is not None:
        raise ValidationError(f"The token “{stored.label}” was already revoked on {stored.revoked_at:%Y-%m-%d}.")
    stored.revoked_at = token.revoked_at = timezone.now()
    stored.save(update_fields=["revoked_at"])
    audit_log(
        organization=token.organization,
        actor=actor,
        action="api_token.revoked",
        target=stored,
        changes={"label": stored.label, "prefix": stored.prefix},
    )
    return stored
