"""Writes of the integrations app: write keys, event definitions, usage rows, mappings.

Each is atomic; changes people make are audited (events themselves are not: they are data).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from cs_platform.audit import audit_log
from cs_platform.models import Organization, User
from cs_platform.selectors import token_hash
from integrations.models import WRITE_KEY_MARKER, WRITE_KEY_PREFIX_LENGTH, UsageSource, WriteKey


@transaction.atomic
def write_key_create(*, organization: Organization, actor: User | None, label: str) -> tuple[WriteKey, str]:
    """A new write key for ``organization``; returns the row and the key, to be shown once."""
    plaintext = WRITE_KEY_MARKER + secrets.token_urlsafe(24)
    key = WriteKey(
        organization=organization,
        label=label.strip(),
        key_hash=token_hash(plaintext),
        prefix=plaintext[:WRITE_KEY_PREFIX_LENGTH],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    key.full_clean(exclude=["organization", "created_by"])
    key.save()
    audit_log(
        organization=organization, actor=actor, action="write_key.created", target=key,
        changes={"label": key.label, "prefix": key.prefix},
    )
    return key, plaintext


@transaction.atomic
def write_key_revoke(*, key: WriteKey, actor: User | None) -> WriteKey:
    """Refuse ``key`` from its next request on; the row stays for the record."""
    stored = WriteKey.objects.select_for_update().get(pk=key.pk)
    if stored.revoked_at is not None:
        raise ValidationError(f"The write key “{stored.label}” was already revoked on {stored.revoked_at:%Y-%m-%d}.")
    stored.revoked_at = key.revoked_at = timezone.now()
    stored.save(update_fields=["revoked_at"])
    audit_log(
        organization=stored.organization, actor=actor, action="write_key.revoked", target=stored,
        changes={"label": stored.label, "prefix": stored.prefix},
    )
    return stored


UsageRow = tuple[int, dt.date, str, float]  # (account id, day, metric, value)


def usage_rows_upsert(
    *, organization: Organization, source: UsageSource, rows: Sequence[UsageRow], source_ref: str = ""
) -> int:
    """Store daily metric values from a connector or a CSV upload; returns rows written.

    Idempotent: a row for the same (account, day, metric) from the same source replaces
    the one before, so a re-run or a corrected file just overwrites. One statement for
    all rows (arrays unnested server-side), not one INSERT per row.
    """
    if not rows:
        return 0
    accounts, days, metrics, values = (list(column) for column in zip(*rows))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO integrations_usagedaily (organization_id, account_id, day, metric, source, source_ref, value)
            SELECT %s, a, d, m, %s, %s, v FROM unnest(%s::bigint[], %s::date[], %s::text[], %s::float8[]) AS t(a, d, m, v)
            ON CONFLICT (organization_id, account_id, day, metric, source, source_ref)
            DO UPDATE SET value = EXCLUDED.value
            """,
            [organization.id, str(source), source_ref, accounts, days, metrics, values],
        )
        return cursor.rowcount
