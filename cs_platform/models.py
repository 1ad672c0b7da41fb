"""People and organizations: who the tenants are, who belongs to them, and what they did."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from cs_platform.tenancy import TenantModel

TIME_ZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(zoneinfo.available_timezones())]


def normalize_address(email: str) -> str:
    """The one spelling of an e-mail address that sign-in, its lock-out and reset limits use.

    People type their address in any case and with stray spaces; counting each
    spelling apart would give every variant its own allowance of guesses.
    """
    return email.strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, email: str) -> User:
        # Sign-in is by e-mail, whatever case people type it in.
        return self.get(email__iexact=normalize_address(email))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=normalize_address(self.normalize_email(email)), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. What they may do depends on their memberships."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    # Platform staff only: reaches Django's admin, not any organization's data.
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    last_organization = models.ForeignKey(
        "Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Organization(models.Model):
    """A tenant: the company running customer success in Tend."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Use lower-case letters, digits and hyphens.")],
    )
    time_zone = models.CharField(max_length=64, choices=TIME_ZONE_CHOICES, default="UTC")
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, such as USD or EUR.")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    CSM = "csm", "CSM"
    AE = "ae", "Account executive"
    VIEWER = "viewer", "Viewer"


ROLE_DESCRIPTIONS = {
    Role.ADMIN: "Configures the organization, its people, tiers, health models and integrations.",
    Role.MANAGER: "Watches at-risk accounts and portfolio trends, reassigns accounts.",
    Role.CSM: "Works a book of accounts: notes, tasks, onboarding, QBRs, tickets.",
    Role.AE: "Logs deal-commit handoffs and expansion deals.",
    Role.VIEWER: "Reads everything, changes nothing.",
}


class Membership(TenantModel):
    """A person's place in an organization, with their role there."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta(TenantModel.Meta):
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "user"], name="membership_one_per_user"),
        ]
        ordering = ["user__full_name", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.organization}"


def invitation_expiry() -> timezone.datetime:
    return timezone.now() + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)


class Invitation(TenantModel):
    """An admin's invitation for someone to join the organization with a role."""

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    # Only a hash is kept; the token itself is in the e-mailed link and nowhere else.
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set by the worker that mails the link, in the transaction that makes the link's
    # token: a second delivery of the task finds it set and sends nothing.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organization", "email"], name="invitation_org_email")]

    def __str__(self) -> str:
        return f"Invitation for {self.email} to {self.organization}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class AuditEntry(TenantModel):
    """Who did what, when: one row per change a person (or the system) made."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # Dotted and stable, e.g. "membership.role_changed"; reports filter on it.
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta(TenantModel.Meta):
        ordering = ["-created_at", "-id"]
        indexes = [
            # Match the ordering exactly (id breaks ties) so pages read the index, no sort.
            models.Index(fields=["organization", "-created_at", "-id"], name="audit_org_recent"),
            models.Index(fields=["organization", "action", "-created_at", "-id"], name="audit_org_action"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor or 'system'}"

    @property
    def change_lines(self) -> list[tuple[str, str]]:
        """``changes`` as readable lines: ``[before, after]`` pairs become "before → after"."""

        def shown(value: object) -> str:
            return "—" if value in (None, "") else str(value)

        return [
            (key, f"{shown(value[0])} → {shown(value[1])}" if isinstance(value, list) and len(value) == 2 else shown(value))
            for key, value in self.changes.items()
        ]


class OutboxMessage(models.Model):
    """A Celery task to hand to the broker, written in the transaction that needs it.

    Not a tenant model: the sender reads every organization's rows at once (beat has
    no tenant), and a row holds only a task name and ids; a tenant task's first
    argument is its organization id, and the task re-enters that scope itself.
    See ``cs_platform.outbox``.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a sender should next try: after a failed send (with backoff), or, once
    # sent, if the task has still not finished by then (lost with a Redis restart).
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"


class PasswordResetRequest(models.Model):
    """One request for a password-reset mail, kept about an hour to limit how many are sent.

    Not tenant-owned: a login belongs to no organization, and neither does asking to reset it.
    Every request is kept, for an address with a login or without, so the limit answers
    the same either way and tells nobody which addresses have one.
    """

    email = models.CharField(max_length=254)  # normalised, as typed into the form
    ip_address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "created_at"], name="reset_request_email"),
            models.Index(fields=["ip_address", "created_at"], name="reset_request_ip"),
            models.Index(fields=["created_at"], name="reset_request_created"),
        ]

    def __str__(self) -> str:
        return f"Password reset for {self.email} at {self.created_at:%Y-%m-%d %H:%M}"
