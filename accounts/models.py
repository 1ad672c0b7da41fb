"""The book of business: customer accounts, their cohorts and lifecycle stages, the people
at them, what happened with them (timeline), what is to be done (tasks), and the AE's handoff."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from cs_platform.csv_files import RowError
from cs_platform.tenancy import TenantModel


class Priority(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class Touch(models.TextChoices):
    """How a cohort is covered (seed 001: some fully automated, some with a CSM's regular reviews)."""

    DEDICATED = "dedicated", "Dedicated CSM"
    POOLED = "pooled", "Pooled CSMs"
    AUTOMATED = "automated", "Automated (tech touch)"


class Tier(TenantModel):
    """A cohort, ordered along the path customers are meant to move (Trial → … → Enterprise).

    Rows that point at tiers and stages use RESTRICT, not PROTECT: a tier in use cannot
    be deleted on its own, but deleting the whole organization still cascades.
    """

    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    touch = models.CharField(max_length=16, choices=Touch.choices, default=Touch.POOLED)
    check_in_cadence_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Days between check-ins; empty for none."
    )
    # QBR eligibility: accounts at or above this ARR (minor units), or nominated by hand.
    qbr_arr_threshold = models.BigIntegerField(null=True, blank=True)
    # Which CSMs cover this tier: handoffs are assigned round-robin among them.
    csms = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TierCoverage", blank=True, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["position", "name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "name"], name="tier_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class TierCoverage(TenantModel):
    """A CSM covering a tier (the through row of ``Tier.csms``, tenant-owned like every row)."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="coverage")
    csm = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "tier", "csm"], name="tier_coverage_unique"),
        ]


class LifecycleStage(TenantModel):
    """Where an account is in its life with the vendor (Onboarding, Adoption, … Churned)."""

    name = models.CharField(max_length=60)
    position = models.PositiveSmallIntegerField(default=0)
    # The stage an account enters when it churns; at most one per organization.
    is_churned = models.BooleanField(default=False)

    class Meta(TenantModel.Meta):
        ordering = ["position", "name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "name"], name="stage_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class AccountStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    CHURNED = "churned", "Churned"


class Account(TenantModel):
    """A customer company."""

    name = models.CharField(max_length=200)
    domains = ArrayField(models.CharField(max_length=253), default=list, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="CSM",
    )
    ae = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name="AE",
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.RESTRICT, related_name="accounts")
    stage = models.ForeignKey(
        LifecycleStage, null=True, blank=True, on_delete=models.RESTRICT, related_name="accounts"
    )
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    arr = models.BigIntegerField(default=0, help_text="Annual recurring revenue, in minor units (cents).")
    currency = models.CharField(max_length=3, default="USD")
    contract_start = models.DateField(null=True, blank=True)
    renewal_date = models.DateField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=8, choices=AccountStatus.choices, default=AccountStatus.ACTIVE)
    qbr_nominated = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # Kept current by the timeline services, so the portfolio sorts on it without a join.
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        indexes = [
            models.Index(fields=["organization", "name"], name="account_org_name"),
            # The API's cursor pagination walks an organization's accounts by id.
            models.Index(fields=["organization", "id"], name="account_org_id"),
            models.Index(fields=["organization", "owner", "name"], name="account_org_owner"),
            models.Index(fields=["organization", "renewal_date"], name="account_org_renewal"),
            models.Index(fields=["organization", "tier"], name="account_org_tier"),
            models.Index(fields=["organization", "stage"], name="account_org_stage"),
            models.Index(fields=["organization", "parent"], name="account_org_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def arr_major(self) -> float:
        return self.arr / 100


class AccountExternalId(TenantModel):
    """The account's id in another system (HubSpot company, Stripe customer, CSV import key)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=40)
    external_id = models.CharField(max_length=200)
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            # Upserts from a source are idempotent on this.
            models.UniqueConstraint(fields=["organization", "source", "external_id"], name="account_external_id"),
        ]
        indexes = [
            # Usage ingestion and connectors resolve ids without knowing the source system.
            models.Index(fields=["organization", "external_id"], name="account_external_id_any"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class TierChange(TenantModel):
    """One move between cohorts, so cohort migration can be reported."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    to_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-changed_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "account", "-changed_at"], name="tierchange_org_account"),
            models.Index(fields=["organization", "-changed_at"], name="tierchange_org_recent"),
        ]


class StageChange(TenantModel):
    """One move between lifecycle stages; ``entered_at`` is the new stage's entry date."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        LifecycleStage, null=True, blank=True, on_delete=models.RESTRICT, related_name="+"
    )
    to_stage = models.ForeignKey(LifecycleStage, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["-entered_at", "-id"]
        indexes = [models.Index(fields=["organization", "account", "-entered_at"], name="stagechange_org_account")]


class ContactRole(models.TextChoices):
    CHAMPION = "champion", "Champion"
    EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"
    ADMIN = "admin", "Admin"
    USER = "user", "User"
    BILLING = "billing", "Billing"


class Contact(TenantModel):
    """A person at a customer account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    title = models.CharField(max_length=120, blank=True)
    role = models.CharField(max_length=20, choices=ContactRole.choices, default=ContactRole.USER)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    # Set when they leave the customer; a departed champion is an early-warning sign (seed 002).
    left_at = models.DateTimeField(null=True, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=40, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["name"]
        indexes = [
            models.Index(fields=["organization", "account", "name"], name="contact_org_account"),
            models.Index(fields=["organization", "email"], name="contact_org_email"),
        ]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "source", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.left_at is None


class ActivityKind(models.TextChoices):
    NOTE = "note", "Note"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL_SENT = "email_sent", "E-mail sent"
    EMAIL_RECEIVED = "email_received", "E-mail received"
    SYSTEM = "system", "System event"


# Kinds that count as contact with the customer (they move "last contact").
CONTACT_KINDS = {ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL_SENT, ActivityKind.EMAIL_RECEIVED}


class Activity(TenantModel):
    """One entry on an account's timeline."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities")
    kind = models.CharField(max_length=16, choices=ActivityKind.choices)
    # For system events: a dotted name, e.g. "account.tier_changed".
    event = models.CharField(max_length=60, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["organization", "account", "-occurred_at", "-id"], name="activity_org_account_time"),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    HANDOFF = "handoff", "Handoff"
    PLAYBOOK = "playbook", "Playbook"
    QBR = "qbr", "QBR"
    ONBOARDING = "onboarding", "Onboarding"
    HEALTH = "health", "Health alert"


class Task(TenantModel):
    """Something someone has to do for an account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_date = models.DateField(null=True, blank=True)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    source = models.CharField(max_length=12, choices=TaskSource.choices, default=TaskSource.MANUAL)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(TenantModel.Meta):
        ordering = ["due_date", "id"]
        indexes = [
            # "Next action" of an account: its earliest open task.
            models.Index(
                fields=["organization", "account", "due_date", "id"],
                condition=models.Q(status="open"),
                name="task_open_by_account",
            ),
            models.Index(
                fields=["organization", "owner", "due_date"], condition=models.Q(status="open"), name="task_open_by_owner"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == TaskStatus.OPEN and self.due_date is not None and self.due_date < timezone.localdate()


class Handoff(TenantModel):
    """The AE's deal-commit record (seed 001): what the customer wants, so the CSM starts informed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="handoffs")
    ae = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    csm = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    commit_date = models.DateField(default=timezone.localdate)
    expected_close_date = models.DateField(null=True, blank=True)
    customer_goals = models.TextField(blank=True)
    success_criteria = models.TextField(blank=True)
    use_case = models.TextField(blank=True)
    arr = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    champion = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sponsor = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    risks = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # Set with the mail to the CSM (claimed by the worker), so it goes once.
    csm_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-commit_date", "-id"]
        indexes = [models.Index(fields=["organization", "-commit_date"], name="handoff_org_recent")]

    def __str__(self) -> str:
        return f"Handoff of {self.account}"

    @property
    def completeness(self) -> dict[str, bool]:
        """What a good handoff has (seed 000 measures handoff quality)."""
        return {
            "goals": bool(self.customer_goals.strip()),
            "success criteria": bool(self.success_criteria.strip()),
            "champion": self.champion_id is not None,
        }

    @property
    def completeness_percent(self) -> int:
        parts = self.completeness
        return round(100 * sum(parts.values()) / len(parts))


class ImportKind(models.TextChoices):
    ACCOUNTS = "accounts", "Accounts"
    CONTACTS = "contacts", "Contacts"

    @property
    def noun(self) -> str:
        return "account" if self is ImportKind.ACCOUNTS else "contact"


class ImportState(models.TextChoices):
    STAGED = "staged", "Being mapped"
    QUEUED = "queued", "Waiting for a worker"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class AccountImport(TenantModel):
    """An uploaded CSV file of accounts or contacts, from its column mapping to its outcome.

    Kept in PostgreSQL rather than the cache, so a Redis restart loses no upload, and a
    large import run by a worker (``accounts.imports.jobs``) has a state that survives the
    worker: staged → queued → running → done | failed.
    """

    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    filename = models.CharField(max_length=255)
    headers = models.JSONField(default=list)
    # [[row number in the file, [one cell per header]], …]; emptied once imported.
    rows = models.JSONField(default=list)
    row_count = models.PositiveIntegerField(default=0)
    # One field name (or "") per column, set once a mapping has passed validation.
    columns = models.JSONField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.STAGED)
    # Bumped each time the job is queued; only a worker holding the current number may
    # finish it, so a duplicate delivery or a worker given up on writes nothing.
    attempt = models.PositiveIntegerField(default=0)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)  # when a worker took the current attempt
    finished_at = models.DateTimeField(null=True, blank=True)
    summary = models.TextField(blank=True)
    failures = models.JSONField(default=list, blank=True)  # RowErrors, when it failed

    def __str__(self) -> str:
        return f"Import of {self.filename}"

    @property
    def noun(self) -> str:
        return ImportKind(self.kind).noun

    @property
    def kind_label(self) -> str:
        return ImportKind(self.kind).label.lower()

    @property
    def failure_errors(self) -> list[RowError]:
        return [RowError(**failure) for failure in self.failures]
