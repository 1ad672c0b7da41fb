"""Reads of the tenancy core."""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from cs_platform.models import AuditEntry, Invitation, Membership, User, normalize_address


def memberships_of_user(user: User) -> list[Membership]:
    """Every organization this person belongs to, for the switcher and sign-in redirect."""
    # Deliberately across tenants: it is the person's own list, confined by ``user``.
    with scopes_disabled():
        return list(
            Membership.objects.filter(user=user).select_related("organization").order_by("organization__name")
        )


def membership_in(user: User, org_slug: str) -> Membership | None:
    """This person's membership in the organization at ``org_slug``, if any."""
    # Runs before a scope exists: it is what decides which scope to enter.
    with scopes_disabled():
        return (
            Membership.objects.select_related("organization")
            .filter(organization__slug=org_slug, user=user)
            .first()
        )


def members_list() -> QuerySet[Membership]:
    return Membership.objects.select_related("user").order_by("user__full_name", "user__email")


def invitations_pending() -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("-created_at")
    )


def audit_entries(*, action_prefix: str = "") -> QuerySet[AuditEntry]:
    # Served by the (organization, action, created_at) index when filtered.
    entries = AuditEntry.objects.select_related("actor").order_by("-created_at", "-id")
    if action_prefix:
        entries = entries.filter(action__startswith=action_prefix)
    return entries


def audit_action_families() -> list[str]:
    """The first part of each dotted action recorded, for the audit log's filter."""
    # order_by("action") keeps the model's ordering columns out of DISTINCT.
    actions = AuditEntry.objects.order_by("action").values_list("action", flat=True).distinct()
    return sorted({action.split(".")[0] for action in actions})


def token_hash(token: str) -> str:
    """How invitation tokens are stored: only their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_for_token(token: str) -> Invitation | None:
    """The pending invitation a link's token stands for, in whichever organization it is."""
    # The token is all an invitee holds and it names no organization, so this lookup
    # crosses tenants; the unguessable hash is what confines it.
    with scopes_disabled():
        invitation = Invitation.objects.select_related("organization").filter(token_hash=token_hash(token)).first()
    return invitation if invitation is not None and invitation.is_pending else None


def login_exists(email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()


def invitation_is_for(invitation: Invitation, user: User) -> bool:
    """Whether ``user`` is the person ``invitation`` was sent to: only they may accept it."""
    return normalize_address(user.email) == normalize_address(invitation.email)
