"""Writes of product usage: write keys, event definitions, usage rows, mappings.

Each is atomic; changes people make are audited (events themselves are not: they are data).
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Account, AccountExternalId
from cs_platform import outbox
from cs_platform.audit import audit_log
from cs_platform.credentials import credential_create, credential_revoke
from cs_platform.models import Organization, User
from usage.ingest.identities import attribute_unmatched, sync_contacts
from usage.rollups import rollup_usage
from usage.models import (
    DirtyDay,
    EventDefinition,
    UsageSource,
    UsageUser,
    WriteKey,
)
from usage.selectors import PRODUCT_SOURCE, accounts_by_external_id, write_key_forget


def write_key_create(*, organization: Organization, actor: User | None, label: str) -> tuple[WriteKey, str]:
    """A new write key for ``organization``; returns the row and the key, to be shown once."""
    return credential_create(WriteKey, organization=organization, actor=actor, label=label)


def write_key_revoke(*, key: WriteKey, actor: User | None) -> WriteKey:
    """Refuse ``key`` from its next request on; the row stays for the record."""
    revoked = credential_revoke(key, actor=actor)
    write_key_forget(key.key_hash)  # at once: if this rolls back, the next request reads it again
    return revoked


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


# --- The feature list ---------------------------------------------------------------------


@transaction.atomic
def event_definition_save(
    *, organization: Organization, actor: User | None, role: str, event_name: str, label: str = "", description: str = ""
) -> EventDefinition:
    """Add an event name to the feature list (or to the login / API call events)."""
    definition = EventDefinition(
        organization=organization, role=role, event_name=event_name.strip(), label=label.strip(),
        description=description.strip(),
    )
    definition.position = EventDefinition.objects.filter(role=role).count()
    definition.full_clean(exclude=["organization"])
    if EventDefinition.objects.filter(role=role, event_name=definition.event_name).exists():
        raise ValidationError(
            f"“{definition.event_name}” already exists as a {definition.get_role_display().lower()} event."
        )
    definition.save()
    audit_log(
        organization=organization, actor=actor, action="event_definition.created", target=definition,
        changes={"role": role, "event_name": definition.event_name},
    )
    _rollup_again(organization)
    return definition


@transaction.atomic
def event_definition_delete(*, definition: EventDefinition, actor: User | None) -> None:
    audit_log(
        organization=definition.organization, actor=actor, action="event_definition.deleted", target=definition,
        changes={"role": definition.role, "event_name": definition.event_name},
    )
    organization = definition.organization
    definition.delete()
    _rollup_again(organization)


def _rollup_again(organization: Organization) -> None:
    """Logins, API calls and features are counted by name: recount the recent past.

    The last 90 days are re-rolled (what the chart shows and every metric window
    reads); older days keep the definitions they were rolled up with.
    """
    today = timezone.now().date()
    DirtyDay.objects.bulk_create(
        DirtyDay(organization=organization, day=today - dt.timedelta(days=offset)) for offset in range(90)
    )
    _enqueue_rollup(organization)


def _enqueue_rollup(organization: Organization) -> None:
    outbox.enqueue(rollup_usage, organization.id)


# --- Unmatched usage --------------------------------------------------------------------------


@transaction.atomic
def unmatched_map(
    *, organization: Organization, actor: User | None, kind: str, identifier: str, account: Account
) -> int:
    """Give a product group (or a single user) to ``account``; returns the events that moved.

    A group becomes the account's ``product`` external id, so its future events match by
    themselves; a user is remembered as the account's. Past events count from the next rollup.
    """
    if kind == "group":
        existing = AccountExternalId.objects.filter(source=PRODUCT_SOURCE, external_id=identifier).first()
        if existing is not None and existing.account_id != account.id:
            raise ValidationError(
                f"The product id “{identifier}” already belongs to {existing.account.name}; "
                "change that account's external ids first."
            )
        if existing is None:
            AccountExternalId.objects.create(
                organization=organization, account=account, source=PRODUCT_SOURCE, external_id=identifier
            )
        members = list(UsageUser.objects.filter(group_id=identifier, account__isnull=True))
        for user in members:
            user.account = account
        UsageUser.objects.bulk_update(members, ["account"])
        sync_contacts(organization, members)
        moved = attribute_unmatched(
            organization=organization, account_id=account.id, group_ids=[identifier],
            user_ids=[user.user_id for user in members],
        )
    elif kind == "user":
        user, _ = UsageUser.objects.get_or_create(organization=organization, user_id=identifier)
        user.account = account
        user.save(update_fields=["account"])
        sync_contacts(organization, [user])
        moved = attribute_unmatched(organization=organization, account_id=account.id, user_ids=[identifier])
    else:
        raise ValidationError(f"“{kind}” is neither a group nor a user.")
    audit_log(
        organization=organization, actor=actor, action="usage.unmatched_mapped", target=account,
        changes={"kind": kind, "identifier": identifier, "events": moved},
    )
    _enqueue_rollup(organization)
    return moved


@transaction.atomic
def unmatched_rematch(*, organization: Organization, actor: User | None) -> int:
    """Try every unmatched group again, e.g. after accounts were imported with their ids."""
    from usage.ingest.identities import attribute_unmatched
    from usage.selectors import unmatched_group_ids

    matches = accounts_by_external_id(unmatched_group_ids())
    moved = 0
    for group_id, account_id in matches.items():
        UsageUser.objects.filter(group_id=group_id, account__isnull=True).update(account_id=account_id)
        moved += attribute_unmatched(organization=organization, account_id=account_id, group_ids=[group_id])
    if moved:
        audit_log(
            organization=organization, actor=actor, action="usage.unmatched_rematched", target=organization,
            changes={"groups": len(matches), "events": moved},
        )
        _enqueue_rollup(organization)
    return moved
