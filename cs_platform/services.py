"""Writes of the tenancy core: organizations, memberships, invitations. Each is atomic and audited."""

from __future__ import annotations

import secrets
from typing import Callable

from celery import shared_task
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from cs_platform import outbox
from cs_platform.audit import audit_log, diff
from cs_platform.models import Invitation, Membership, Organization, Role, User
from cs_platform.selectors import invitation_is_for, token_hash
from cs_platform.tenant_task import MAIL_RETRY, TenantTask


@transaction.atomic
def organization_create(
    *, name: str, slug: str, creator: User, time_zone: str = "UTC", currency: str = "USD"
) -> Organization:
    """A new tenant, with its creator as its first admin and every app's set-up done."""
    organization = Organization(name=name, slug=slug, time_zone=time_zone, currency=currency)
    organization.full_clean()
    organization.save()
    organization_set_up(organization=organization)
    with scope(organization=organization):
        Membership.objects.create(organization=organization, user=creator, role=Role.ADMIN)
        audit_log(
            organization=organization,
            actor=creator,
            action="organization.created",
            target=organization,
            changes={"name": name, "slug": slug},
        )
    return organization


# What each app gives a new organization (accounts: the default lifecycle stages), added by
# the apps above the core from their AppConfig.ready, so the core need not know them.
_SET_UPS: list[Callable[[Organization], None]] = []


def organization_set_up_register(set_up: Callable[[Organization], None]) -> None:
    if set_up not in _SET_UPS:
        _SET_UPS.append(set_up)


@transaction.atomic
def organization_set_up(*, organization: Organization) -> None:
    """Run every app's set-up for ``organization``, in its scope (idempotent set-ups only)."""
    with scope(organization=organization):
        for set_up in _SET_UPS:
            set_up(organization)


@transaction.atomic
def organization_update(
    *, organization: Organization, actor: User, name: str, time_zone: str, currency: str
) -> Organization:
    fields = ["name", "time_zone", "currency"]
    # Compare with what is stored: a bound ModelForm has already changed the instance.
    stored = Organization.objects.get(pk=organization.pk)
    before = {field: getattr(stored, field) for field in fields}
    organization.name, organization.time_zone, organization.currency = name, time_zone, currency
    organization.full_clean()
    organization.save(update_fields=fields)
    changes = diff(organization, before, fields)
    if changes:
        audit_log(
            organization=organization, actor=actor, action="organization.updated", target=organization, changes=changes
        )
    return organization


@transaction.atomic
def membership_add(*, organization: Organization, user: User, role: str, actor: User | None) -> Membership:
    """Put an existing login into the organization directly (staff tools, demo data)."""
    membership, created = Membership.objects.get_or_create(organization=organization, user=user, defaults={"role": role})
    if created:
        audit_log(
            organization=organization,
            actor=actor,
            action="membership.added",
            target=membership,
            changes={"user": user.email, "role": role},
        )
    return membership


def _admins_left_after(membership: Membership, *, new_role: str | None) -> int:
    admins = Membership.objects.filter(role=Role.ADMIN).exclude(pk=membership.pk).count()
    return admins + (1 if new_role == Role.ADMIN else 0)


@transaction.atomic
def membership_change_role(*, membership: Membership, actor: User, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"“{role}” is not a role. Choose one of: {', '.join(Role.values)}."})
    if membership.role == role:
        return membership
    # Lock the organization's admin rows so two admins demoting each other at once
    # cannot leave the organization with nobody to run it.
    list(Membership.objects.select_for_update().filter(role=Role.ADMIN))
    if membership.role == Role.ADMIN and _admins_left_after(membership, new_role=role) == 0:
        raise ValidationError("An organization needs at least one admin. Make someone else an admin first.")
    before = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_log(
        organization=membership.organization,
        actor=actor,
        action="membership.role_changed",
        target=membership,
        changes={"role": [before, role], "user": membership.user.email},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    list(Membership.objects.select_for_update().filter(role=Role.ADMIN))
    if membership.role == Role.ADMIN and _admins_left_after(membership, new_role=None) == 0:
        raise ValidationError("An organization needs at least one admin. Make someone else an admin first.")
    audit_log(
        organization=membership.organization,
        actor=actor,
        action="membership.removed",
        target=membership,
        changes={"user": membership.user.email, "role": membership.role},
    )
    user = membership.user
    membership.delete()
    if user.last_organization_id == membership.organization_id:
        user.last_organization = None
        user.save(update_fields=["last_organization"])


@transaction.atomic
def invitation_create(*, organization: Organization, actor: User, email: str, role: str) -> Invitation:
    """Invite ``email`` to join with ``role``; the link is mailed once the invitation is committed."""
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {organization.name}."})
    # A new invitation replaces any earlier one still pending for the same address.
    Invitation.objects.filter(organization=organization, email__iexact=email, accepted_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    # The link's token is made when the mail goes (invitation_send_email); until then
    # the row holds the hash of a token nobody knows, and no link exists anywhere.
    invitation = Invitation.objects.create(
        organization=organization, email=email, role=role, token_hash=token_hash(secrets.token_urlsafe(32)),
        invited_by=actor,
    )
    audit_log(
        organization=organization,
        actor=actor,
        action="invitation.created",
        target=invitation,
        changes={"email": email, "role": role},
    )
    outbox.enqueue(send_invitation_email, organization.id, invitation.id)
    return invitation


def invitation_url(token: str) -> str:
    return settings.SITE_URL + reverse("cs_platform:invitation_accept", kwargs={"token": token})


@transaction.atomic
def invitation_send_email(*, invitation_id: int) -> None:
    """Mail the invitation link, once; runs in a worker inside the organization's scope.

    The token is made here and only its hash kept, so neither the outbox nor the broker
    ever holds a usable link. Claimed by ``emailed_at`` with the new hash: a second
    delivery sends nothing, and a failed send rolls both back for the retry.
    """
    pending = Invitation.objects.filter(accepted_at=None, revoked_at=None, expires_at__gt=timezone.now())
    invitation = outbox.claim(pending.select_related("organization", "invited_by"), pk=invitation_id, mark="emailed_at")
    if invitation is None:
        return  # mailed already, or no longer pending
    token = secrets.token_urlsafe(32)
    invitation.token_hash = token_hash(token)
    invitation.save(update_fields=["token_hash"])
    context = {"invitation": invitation, "url": invitation_url(token)}
    send_mail(
        subject=f"You're invited to {invitation.organization.name} on Tend",
        message=render_to_string("cs_platform/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    if not invitation.is_pending:
        raise ValidationError(f"This invitation is already {invitation.status}.")
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_log(
        organization=invitation.organization,
        actor=actor,
        action="invitation.revoked",
        target=invitation,
        changes={"email": invitation.email},
    )
    return invitation


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None, full_name: str = "", password: str = ""
) -> Membership:
    """Join the organization: as the signed-in ``user``, or as a new account made from the form.

    Only the invited address may accept: the link can be forwarded or leak, and the
    role it carries (Admin, say) was meant for that person alone.
    """
    organization = invitation.organization
    with scope(organization=organization):
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending:
            raise ValidationError(f"This invitation is {invitation.status}. Ask an admin for a new one.")
        if user is not None and not invitation_is_for(invitation, user):
            raise ValidationError(
                f"This invitation is for {invitation.email}, and you are signed in as {user.email}. "
                f"Sign out, then sign in as {invitation.email} to accept it."
            )
        if user is None:
            if User.objects.filter(email__iexact=invitation.email).exists():
                raise ValidationError(f"{invitation.email} already has a Tend login. Sign in to accept.")
            user = User(email=invitation.email, full_name=full_name.strip())
            validate_password(password, user)
            user.set_password(password)
            user.save()
        membership, _ = Membership.objects.get_or_create(
            organization=organization, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_log(
            organization=organization,
            actor=user,
            action="invitation.accepted",
            target=invitation,
            changes={"email": user.email, "role": membership.role},
        )
    return membership


def user_remember_organization(*, user: User, organization: Organization) -> None:
    """Remember where the person last worked, so signing in takes them back there."""
    if user.last_organization_id != organization.id:
        user.last_organization = organization
        user.save(update_fields=["last_organization"])


@shared_task(base=TenantTask, name="cs_platform.send_invitation_email", **MAIL_RETRY)
def send_invitation_email(organization_id: int, invitation_id: int) -> None:
    invitation_send_email(invitation_id=invitation_id)
