"""Writes on the book of business. Each is atomic, audited, and leaves a timeline entry
where a CSM would want to see what happened."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    CONTACT_KINDS,
    Account,
    AccountExternalId,
    Activity,
    ActivityKind,
    Contact,
    ContactRole,
    Handoff,
    LifecycleStage,
    Priority,
    StageChange,
    Task,
    TaskSource,
    TaskStatus,
    Tier,
    TierChange,
)
from cs_platform import outbox
from cs_platform.audit import audit_log
from cs_platform.models import Membership, Organization, Role, User
from cs_platform.tenant_task import MAIL_RETRY, TenantTask

DEFAULT_STAGES = ["Onboarding", "Adoption", "Retention", "Expansion", "At-Risk", "Churned"]
ONBOARDING_STAGE = "Onboarding"
KICKOFF_DUE_DAYS = 2


# --- Configuration: tiers and stages -------------------------------------------


@transaction.atomic
def stages_create_defaults(*, organization: Organization) -> list[LifecycleStage]:
    """The lifecycle stages of seeds 002/003, for a new organization."""
    return [
        LifecycleStage.objects.get_or_create(
            organization=organization, name=name, defaults={"position": position, "is_churned": name == "Churned"}
        )[0]
        for position, name in enumerate(DEFAULT_STAGES)
    ]


def _save_ordered(instance: Tier | LifecycleStage, *, actor: User | None, fields: dict[str, Any]) -> bool:
    """Tiers and stages alike: set fields, append new ones at the end, validate, save, audit."""
    created = instance.pk is None
    for name, value in fields.items():
        setattr(instance, name, value)
    if created and "position" not in fields:
        top = type(instance).objects.aggregate(top=Max("position"))["top"]
        instance.position = (top or 0) + 1
    instance.full_clean(exclude=["organization"])
    instance.save()
    noun = type(instance)._meta.model_name.replace("lifecycle", "")
    audit_log(
        organization=instance.organization,
        actor=actor,
        action=f"{noun}.{'created' if created else 'updated'}",
        target=instance,
        changes={key: str(value) for key, value in fields.items()},
    )
    return created


@transaction.atomic
def tier_save(
    *, organization: Organization, actor: User | None, tier: Tier | None = None, csms: list[User] | None = None, **fields: Any
) -> Tier:
    """Create or update a tier (cohort) and the CSMs covering it."""
    tier = tier or Tier(organization=organization)
    _save_ordered(tier, actor=actor, fields=fields)
    if csms is not None:
        tier.coverage.exclude(csm__in=csms).delete()
        for csm in csms:
            tier.coverage.get_or_create(organization=organization, csm=csm)
    return tier


@transaction.atomic
def stage_save(
    *, organization: Organization, actor: User | None, stage: LifecycleStage | None = None, **fields: Any
) -> LifecycleStage:
    stage = stage or LifecycleStage(organization=organization)
    _save_ordered(stage, actor=actor, fields=fields)
    return stage


# --- Accounts ----------------------------------------------------------------------


def _system_event(account: Account, *, actor: User | None, event: str, subject: str, body: str = "") -> Activity:
    return Activity.objects.create(
        organization=account.organization,
        account=account,
        kind=ActivityKind.SYSTEM,
        event=event,
        subject=subject,
        body=body,
        author=actor,
    )


@transaction.atomic
def account_create(
    *,
    organization: Organization,
    actor: User | None,
    name: str,
    tier: Tier | None = None,
    stage: LifecycleStage | None = None,
    external_ids: dict[str, str] | None = None,
    **fields: Any,
) -> Account:
    fields.setdefault("currency", organization.currency)
    account = Account(organization=organization, name=name.strip(), **fields)
    if stage is not None:
        account.stage, account.stage_entered_at = stage, timezone.now()
    account.tier = tier
    account.full_clean(exclude=["organization"])
    account.save()
    if tier is not None:
        TierChange.objects.create(organization=organization, account=account, to_tier=tier, actor=actor, reason="Created")
    if stage is not None:
        StageChange.objects.create(organization=organization, account=account, to_stage=stage, actor=actor)
    for source, external_id in (external_ids or {}).items():
        account_set_external_id(account=account, source=source, external_id=external_id)
    audit_log(organization=organization, actor=actor, action="account.created", target=account, changes={"name": name})
    return account


def account_set_external_id(*, account: Account, source: str, external_id: str) -> AccountExternalId:
    row, _ = AccountExternalId.objects.update_or_create(
        organization=account.organization,
        source=source,
        external_id=external_id,
        defaults={"account": account, "synced_at": timezone.now()},
    )
    return row


ACCOUNT_EDITABLE_FIELDS = [
    "name", "domains", "owner", "ae", "arr", "currency", "contract_start", "renewal_date",
    "parent", "priority", "status", "qbr_nominated", "notes",
]


@transaction.atomic
def account_update(*, account: Account, actor: User | None, **fields: Any) -> Account:
    """Change plain fields; tier and stage go through their own services (they keep history)."""
    unknown = set(fields) - set(ACCOUNT_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"account_update cannot change {sorted(unknown)}; use account_change_tier/stage.")
    if fields.get("parent") is not None and _would_cycle(account, fields["parent"]):
        raise ValidationError({"parent": "An account cannot sit under itself or one of its own children."})
    before = {name: getattr(account, name) for name in fields}
    for name, value in fields.items():
        setattr(account, name, value)
    account.full_clean(exclude=["organization"])
    account.save()
    changes = {name: [str(before[name]), str(value)] for name, value in fields.items() if before[name] != value}
    if changes:
        if "owner" in changes:
            _system_event(account, actor=actor, event="account.owner_changed", subject=f"CSM changed to {account.owner or 'nobody'}")
        audit_log(organization=account.organization, actor=actor, action="account.updated", target=account, changes=changes)
    return account


def _would_cycle(account: Account, parent: Account) -> bool:
    node: Account | None = parent
    seen = set()
    while node is not None and node.pk not in seen:
        if node.pk == account.pk:
            return True
        seen.add(node.pk)
        node = node.parent
    return False


@transaction.atomic
def account_change_tier(*, account: Account, actor: User | None, tier: Tier | None, reason: str = "") -> Account:
    if account.tier_id == (tier.pk if tier else None):
        return account
    previous = account.tier
    account.tier = tier
    account.save(update_fields=["tier", "updated_at"])
    TierChange.objects.create(
        organization=account.organization, account=account, from_tier=previous, to_tier=tier, reason=reason, actor=actor
    )
    _system_event(
        account, actor=actor, event="account.tier_changed",
        subject=f"Tier changed from {previous or '—'} to {tier or '—'}", body=reason,
    )
    audit_log(
        organization=account.organization, actor=actor, action="account.tier_changed", target=account,
        changes={"tier": [str(previous or ""), str(tier or "")], "reason": reason},
    )
    return account


@transaction.atomic
def account_change_stage(*, account: Account, actor: User | None, stage: LifecycleStage | None) -> Account:
    if account.stage_id == (stage.pk if stage else None):
        return account
    previous = account.stage
    account.stage, account.stage_entered_at = stage, timezone.now()
    if stage is not None and stage.is_churned:
        account.status = "churned"
    account.save(update_fields=["stage", "stage_entered_at", "status", "updated_at"])
    StageChange.objects.create(
        organization=account.organization, account=account, from_stage=previous, to_stage=stage,
        entered_at=account.stage_entered_at, actor=actor,
    )
    _system_event(account, actor=actor, event="account.stage_changed", subject=f"Stage changed from {previous or '—'} to {stage or '—'}")
    audit_log(
        organization=account.organization, actor=actor, action="account.stage_changed", target=account,
        changes={"stage": [str(previous or ""), str(stage or "")]},
    )
    return account


# --- Timeline ----------------------------------------------------------------------


@transaction.atomic
def activity_log(
    *,
    account: Account,
    actor: User | None,
    kind: str,
    subject: str = "",
    body: str = "",
    contact: Contact | None = None,
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """A note, call, meeting or e-mail on the timeline; contact moves "last contact"."""
    if kind == ActivityKind.SYSTEM:
        raise ValueError("System events are written by the services that cause them.")
    if not (subject.strip() or body.strip()):
        raise ValidationError({"body": "Write what happened: a subject or some notes."})
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": "That contact is not at this account."})
    activity = Activity.objects.create(
        organization=account.organization, account=account, contact=contact, kind=kind,
        subject=subject.strip(), body=body.strip(), author=actor, occurred_at=occurred_at or timezone.now(),
    )
    if kind in CONTACT_KINDS:
        when = activity.occurred_at
        Account.objects.filter(pk=account.pk).filter(
            Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=when)
        ).update(last_contacted_at=when)
        if contact is not None:
            Contact.objects.filter(pk=contact.pk).filter(
                Q(last_contacted_at__isnull=True) | Q(last_contacted_at__lt=when)
            ).update(last_contacted_at=when)
        account.refresh_from_db(fields=["last_contacted_at"])
    return activity


# --- Contacts ----------------------------------------------------------------------


@transaction.atomic
def contact_save(*, account: Account, actor: User | None, contact: Contact | None = None, **fields: Any) -> Contact:
    created = contact is None
    contact = contact or Contact(organization=account.organization, account=account)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.full_clean(exclude=["organization", "account"])
    contact.save()
    audit_log(
        organization=account.organization, actor=actor, action="contact.created" if created else "contact.updated",
        target=contact, changes={"name": contact.name, "role": contact.role},
    )
    return contact


@transaction.atomic
def contact_mark_left(*, contact: Contact, actor: User | None) -> Contact:
    """They left the customer. A departing champion gets flagged on the timeline and as a task."""
    if contact.left_at is not None:
        return contact
    contact.left_at = timezone.now()
    contact.save(update_fields=["left_at"])
    account = contact.account
    if contact.role in {ContactRole.CHAMPION, ContactRole.EXECUTIVE_SPONSOR}:
        _system_event(
            account, actor=actor, event="contact.champion_left",
            subject=f"{contact.get_role_display()} {contact.name} left {account.name}",
            body="An early-warning sign: find and build a new champion.",
        )
        if account.owner_id:
            task_create(
                account=account, actor=actor, owner=account.owner, title=f"Find a new {contact.get_role_display().lower()}",
                priority=Priority.HIGH, due_date=timezone.localdate() + dt.timedelta(days=7), source=TaskSource.MANUAL,
            )
    audit_log(organization=account.organization, actor=actor, action="contact.left", target=contact, changes={"role": contact.role})
    return contact


# --- Tasks -------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    account: Account,
    actor: User | None,
    title: str,
    owner: User | None = None,
    due_date: dt.date | None = None,
    priority: str = Priority.MEDIUM,
    source: str = TaskSource.MANUAL,
    description: str = "",
) -> Task:
    task = Task(
        organization=account.organization, account=account, title=title.strip(), owner=owner or account.owner,
        due_date=due_date, priority=priority, source=source, description=description, created_by=actor,
    )
    task.full_clean(exclude=["organization", "account"])
    task.save()
    audit_log(organization=account.organization, actor=actor, action="task.created", target=task, changes={"title": task.title})
    return task


@transaction.atomic
def task_complete(*, task: Task, actor: User | None) -> Task:
    # A conditional UPDATE: completing twice (double click, two tabs) is harmless.
    updated = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_at=timezone.now()
    )
    task.refresh_from_db()
    if updated:
        audit_log(organization=task.organization, actor=actor, action="task.completed", target=task)
    return task


@transaction.atomic
def task_reopen(*, task: Task, actor: User | None) -> Task:
    updated = Task.objects.filter(pk=task.pk, status=TaskStatus.DONE).update(status=TaskStatus.OPEN, completed_at=None)
    task.refresh_from_db()
    if updated:
        audit_log(organization=task.organization, actor=actor, action="task.reopened", target=task)
    return task


# --- Handoff -----------------------------------------------------------------------


def _onboarding_stage(*, organization: Organization, actor: User | None) -> LifecycleStage:
    """Where a handed-off account starts: "Onboarding", else the organization's first stage.

    An admin may have renamed or reordered the defaults; only an organization with
    no stages at all gets one made, and just that one.
    """
    stage = LifecycleStage.objects.filter(name=ONBOARDING_STAGE).first() or LifecycleStage.objects.order_by("position").first()
    return stage or stage_save(organization=organization, actor=actor, name=ONBOARDING_STAGE, position=0)


def csm_for_tier(*, tier: Tier | None) -> User | None:
    """Round-robin among the CSMs covering ``tier``: whoever was handed an account least recently."""
    candidates = list(tier.csms.all()) if tier is not None else []
    if not candidates:
        candidates = [m.user for m in Membership.objects.filter(role=Role.CSM).select_related("user")]
    if not candidates:
        return None
    load = {
        row["csm"]: (row["last"], row["count"])
        for row in Handoff.objects.filter(csm__in=candidates).values("csm").annotate(last=Max("created_at"), count=Count("id"))
    }
    epoch = timezone.make_aware(dt.datetime(1970, 1, 1))
    return min(candidates, key=lambda user: (load.get(user.pk, (epoch, 0))[0], user.pk))


@transaction.atomic
def handoff_log(
    *,
    organization: Organization,
    ae: User,
    account_name: str,
    account: Account | None = None,
    csm: User | None = None,
    tier: Tier | None = None,
    arr: int = 0,
    commit_date: dt.date | None = None,
    expected_close_date: dt.date | None = None,
    customer_goals: str = "",
    success_criteria: str = "",
    use_case: str = "",
    risks: str = "",
    notes: str = "",
    champion: dict[str, str] | None = None,
    sponsor: dict[str, str] | None = None,
    domain: str = "",
    notify: bool = True,
) -> Handoff:
    """The AE commits a deal: the account enters Onboarding with a CSM and a kickoff task.

    Creates the account (or updates the one given), assigns the CSM (explicitly, or
    round-robin among those covering the tier), records the champion and sponsor as
    contacts, puts the handoff on the timeline and mails the CSM once committed
    (``notify=False`` for history loaded in bulk, such as demo data).
    """
    onboarding = _onboarding_stage(organization=organization, actor=ae)
    csm = csm or csm_for_tier(tier=tier)
    if account is None:
        account = account_create(
            organization=organization, actor=ae, name=account_name, tier=tier, stage=onboarding, owner=csm, ae=ae,
            arr=arr, domains=[domain] if domain else [],
        )
    else:
        account_update(account=account, actor=ae, owner=csm or account.owner, ae=ae, arr=arr or account.arr)
        if tier is not None:
            account_change_tier(account=account, actor=ae, tier=tier, reason="Deal committed")
        account_change_stage(account=account, actor=ae, stage=onboarding)

    def person(details: dict[str, str] | None, role: str) -> Contact | None:
        if not details or not details.get("name", "").strip():
            return None
        existing = None
        if details.get("email"):
            existing = Contact.objects.filter(account=account, email__iexact=details["email"]).first()
        return contact_save(account=account, actor=ae, contact=existing, role=role, **{k: v for k, v in details.items() if v})

    handoff = Handoff.objects.create(
        organization=organization, account=account, ae=ae, csm=csm, commit_date=commit_date or timezone.localdate(),
        expected_close_date=expected_close_date, customer_goals=customer_goals, success_criteria=success_criteria,
        use_case=use_case, arr=arr, currency=account.currency, tier=tier, risks=risks, notes=notes,
        champion=person(champion, ContactRole.CHAMPION), sponsor=person(sponsor, ContactRole.EXECUTIVE_SPONSOR),
    )
    _system_event(
        account, actor=ae, event="handoff.logged", subject=f"Deal committed by {ae}; handed off to {csm or 'no CSM yet'}",
        body=customer_goals,
    )
    if csm is not None:
        task_create(
            account=account, actor=ae, owner=csm, title=f"Kickoff call with {account.name}",
            description="Review the AE's handoff (goals, success criteria, champion) and schedule the onboarding kickoff.",
            due_date=timezone.localdate() + dt.timedelta(days=KICKOFF_DUE_DAYS), priority=Priority.HIGH, source=TaskSource.HANDOFF,
        )
        if notify:
            outbox.enqueue(notify_csm_of_handoff, organization.id, handoff.id)
    audit_log(
        organization=organization, actor=ae, action="handoff.logged", target=handoff,
        changes={"account": account.name, "csm": csm.email if csm else None, "arr": arr},
    )
    return handoff


@transaction.atomic
def handoff_notify_csm(*, handoff_id: int) -> None:
    """Mail the CSM about their new account, once; runs in a worker in the organization's scope.

    Claimed by ``csm_notified_at``: a second delivery of the task sends nothing, and a
    failed send rolls the mark back for the retry.
    """
    handoffs = Handoff.objects.filter(csm__isnull=False).select_related("account", "csm", "ae", "organization", "champion")
    handoff = outbox.claim(handoffs, pk=handoff_id, mark="csm_notified_at")
    if handoff is None:
        return  # told already, or nobody to tell
    url = settings.SITE_URL + reverse("accounts:account_detail", kwargs={"org_slug": handoff.organization.slug, "account": handoff.account.public_id}
    )
    send_mail(
        subject=f"New account handed off to you: {handoff.account.name}",
        message=render_to_string("accounts/email/handoff.txt", {"handoff": handoff, "url": url}),
        from_email=None,
        recipient_list=[handoff.csm.email],
    )


@shared_task(base=TenantTask, name="accounts.notify_csm_of_handoff", **MAIL_RETRY)
def notify_csm_of_handoff(organization_id: int, handoff_id: int) -> None:
    handoff_notify_csm(handoff_id=handoff_id)
