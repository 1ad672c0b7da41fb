"""The audit log's one writer: every service records what it changed through here."""

from __future__ import annotations

from typing import Any

from django.db import models

from cs_platform.models import AuditEntry, Organization, User


def audit_log(
    *,
    organization: Organization,
    actor: User | None,
    action: str,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record ``action`` (dotted, e.g. ``membership.role_changed``) on ``target``.

    ``changes`` maps field names to ``[before, after]`` pairs, or holds whatever
    facts the action needs to be understood later; it must be JSON-serializable.
    """
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(getattr(target, "public_id", None) or target.pk)
        target_repr = str(target)[:200]
    else:
        target_type = target_id = target_repr = ""
    return AuditEntry.objects.create(
        organization=organization,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        changes=changes or {},
    )


def diff(instance: models.Model, before: dict[str, Any], fields: list[str]) -> dict[str, list[Any]]:
    """The ``changes`` of an update: fields whose value moved, as ``[before, after]``."""
    changed = {}
    for field in fields:
        after = getattr(instance, field)
        if before[field] != after:
            changed[field] = [before[field], after]
    return changed
