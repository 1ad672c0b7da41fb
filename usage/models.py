"""Product usage coming in: write keys, raw events, identities, daily rollups and the
metrics derived from them, and connectors that read a product's own database.

The raw event table (``UsageEvent``) is built for volume and is not created by
Django: migration 0001 makes it a PostgreSQL table partitioned by month of the
event's timestamp (see ``usage/partitions.py``), written with multi-row
inserts, never one INSERT per event. Everything read by pages comes from the
rollups (``UsageDaily``, ``AccountUsage``), which are ordinary tables.

Every table keeps the name it had when product usage lived in ``integrations/``
(``db_table``), so moving the code moved no row; ``integrations`` migrations 0001–0004
made them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from cs_platform.credentials import Credential
from cs_platform.tenancy import TenantModel

class WriteKey(Credential):
    """A key a product sends events with (Segment calls it a source's write key).

    Write keys only write; only their SHA-256 is stored, and the key is shown once.
    """

    MARKER = "tendwk_"
    HASH_FIELD = "key_hash"
    NOUN = "write key"
    AUDIT_NAME = "write_key"
    SECRET_BYTES = 24

    label = models.CharField(max_length=100, help_text="Which product or environment sends with it, e.g. “Web app (production)”.")
    # Unique across tenants: a request presents the key alone, so its hash must find the organization.
    key_hash = models.CharField(max_length=64, unique=True)

    class Meta(Credential.Meta):
        db_table = "integrations_writekey"
        ordering = ["-created_at", "-id"]


class EventRole(models.TextChoices):
    FEATURE = "feature", "Feature"
    LOGIN = "login", "Login"
    API_CALL = "api_call", "API call"


class EventDefinition(TenantModel):
    """What an event name means to customer success: a feature, a login or an API call.

    The features make up the organization's feature list, against which adoption is
    measured; logins and API calls are counted into their own daily metrics.
    """

    role = models.CharField(max_length=10, choices=EventRole.choices)
    event_name = models.CharField(max_length=200, help_text="Exactly as the product sends it, e.g. “Flow Deployed”.")
    label = models.CharField(max_length=120, blank=True, help_text="How CSMs call it; the event name if empty.")
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta(TenantModel.Meta):
        db_table = "integrations_eventdefinition"
        ordering = ["role", "position", "event_name"]
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "role", "event_name"], name="event_definition_unique"),
        ]

    def __str__(self) -> str:
        return self.label or self.event_name

    @property
    def shown_name(self) -> str:
        return self.label or self.event_name


class UsageUser(TenantModel):
    """A person as the product knows them (Segment's ``userId``), and the account they use.

    ``identify`` fills the traits (and the contact); ``group`` or an admin's mapping sets
    the account. Events are attributed through this row when they name no group.
    """

    user_id = models.CharField(max_length=200)
    group_id = models.CharField(max_length=200, blank=True, help_text="The last group the product put this user in.")
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    traits = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        db_table = "integrations_usageuser"
        constraints = [
            *TenantModel.Meta.constraints,
            models.UniqueConstraint(fields=["organization", "user_id"], name="usage_user_unique"),
        ]
        indexes = [models.Index(fields=["organization", "group_id"], name="usage_user_org_group")]

    def __str__(self) -> str:
        return self.traits.get("email") or self.user_id


class UsageEvent(models.Model):
    """One raw message as received (track, page, screen, identify, group), kept for rollups.

    Unmanaged: the table is partitioned by month of ``timestamp`` (migration 0001) and its
    primary key is ``(organization_id, timestamp, id)``. There are no database-level foreign
    keys, so a bulk insert checks nothing per row; the ingestion service resolves
    ``account_id`` itself and an organization's rows go when it does (Django's collector).
    """

    id = models.BigIntegerField(primary_key=True)
    organization = models.ForeignKey(
        "cs_platform.Organization", on_delete=models.CASCADE, db_constraint=False, related_name="+"
    )
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    type = models.CharField(max_length=8)
    event = models.CharField(max_length=200)
    user_id = models.CharField(max_length=200)
    anonymous_id = models.CharField(max_length=200)
    group_id = models.CharField(max_length=200)
    # Null: unmatched. Kept, listed for admins, and counted once they map it to an account.
    account = models.ForeignKey(
        "accounts.Account", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    message_id = models.CharField(max_length=200)
    source = models.CharField(max_length=10)
    properties = models.JSONField(default=dict)

    objects = ScopedManager(organization="organization")

    class Meta:
        managed = False
        db_table = "integrations_usageevent"

    def __str__(self) -> str:
        return f"{self.type} {self.event} at {self.timestamp:%Y-%m-%d %H:%M}"


class SeenMessage(models.Model):
    """A ``messageId`` already stored, so a client's retry is not counted twice.

    Kept at least ``USAGE_DEDUP_DAYS`` (8) days after it was first received, then purged.
    Written in the same statement as the events, so a message is marked seen exactly
    when it is stored. ``message_id`` is "<source>:<the client's id>": each source's ids
    are its own, whatever a client puts in them.
    """

    pk = models.CompositePrimaryKey("organization", "message_id")
    organization = models.ForeignKey("cs_platform.Organization", on_delete=models.CASCADE, related_name="+")
    # Byte order ("C"): ids are compared for equality only, and that is the cheapest collation
    # to keep a btree of, with hundreds of random ids inserted per request.
    # The client's id (up to 200 characters) behind its source's name.
    message_id = models.CharField(max_length=220, db_collation="C")
    seen_on = models.DateField()

    objects = ScopedManager(organization="organization")

    class Meta:
        db_table = "integrations_seenmessage"
        indexes = [
            # Serves only the nightly purge, across all organizations (not a tenant read):
            # BRIN, because rows arrive in seen_on order and it costs next to nothing to keep.
            BrinIndex(fields=["seen_on"], name="seen_message_seen_on"),
        ]


class DirtyDay(models.Model):
    """A note that a day of an organization's events changed and must be rolled up again.

    Append-only, no unique key: concurrent ingest requests never wait on each other's
    notes, and the rollup deletes exactly the notes it saw before reading the events.
    """

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("cs_platform.Organization", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()

    objects = ScopedManager(organization="organization")

    class Meta:
        db_table = "integrations_dirtyday"
        indexes = [models.Index(fields=["organization", "day"], name="dirty_day_org_day")]


class UsageSource(models.TextChoices):
    EVENTS = "events", "Events (API)"
    CSV = "csv", "CSV upload"
    CONNECTOR = "connector", "Product database"


class UsageDaily(models.Model):
    """One account's value of one metric on one day (UTC), from one source.

    Metrics from events: ``active_users``, ``logins``, ``events``, ``api_calls``,
    ``features_used`` and ``event:<name>`` per event name. A connector or CSV can bring
    any of these or metrics of its own. Each source owns its rows: the event rollup
    replaces only ``events`` rows, a connector only its own (``source_ref`` = its id).
    """

    # No database-level foreign keys: a rollup writes millions of rows at once, and checking
    # each at commit cost 14 s of a 60 s rollup of 10M events. Writers resolve account ids in
    # the same transaction (the rollup joins accounts); deletes cascade through Django.
    # No index of its own on organization either: both indexes below lead with it.
    organization = models.ForeignKey(
        "cs_platform.Organization", on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, db_constraint=False, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=220)
    source = models.CharField(max_length=10, choices=UsageSource.choices)
    source_ref = models.CharField(max_length=40, blank=True, default="")
    value = models.FloatField()

    objects = ScopedManager(organization="organization")

    class Meta:
        db_table = "integrations_usagedaily"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "account", "day", "metric", "source", "source_ref"], name="usage_daily_unique"
            ),
        ]
        indexes = [
            # The org-wide metric refresh and the chart read by (organization, day) ranges.
            models.Index(fields=["organization", "day", "metric"], name="usage_daily_org_day"),
            # The refresh's "last day of use" of accounts known only from CSV or a connector.
            models.Index(
                fields=["organization", "account", "day"], condition=~models.Q(source="events"),
                name="usage_daily_other_sources",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}={self.value}"


class AccountUsage(models.Model):
    """The usage metrics of one account, as the health engine and the pages read them.

    Recomputed set-based after every rollup and nightly (windows move with the date).
    Windows end today (UTC): "7d" is today and the six days before.
    """

    organization = models.ForeignKey("cs_platform.Organization", on_delete=models.CASCADE, related_name="+")
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="usage")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    logins_7d = models.IntegerField(default=0)
    active_users_7d = models.IntegerField(default=0, help_text="Distinct people active in the last 7 days (WAU).")
    seats = models.IntegerField(null=True, blank=True)
    wau_per_seat = models.FloatField(null=True, blank=True, help_text="Weekly active users ÷ seats, 0–1+.")
    events_7d = models.IntegerField(default=0)
    events_prev_7d = models.IntegerField(default=0)
    events_28d = models.IntegerField(default=0)
    events_prev_28d = models.IntegerField(default=0)
    api_calls_7d = models.IntegerField(default=0)
    features_used_30d = models.IntegerField(default=0)
    features_total = models.IntegerField(default=0)
    feature_adoption_pct = models.FloatField(null=True, blank=True)
    wow_change_pct = models.FloatField(null=True, blank=True, help_text="Events, last 7 days against the 7 before.")
    trend_4w_pct = models.FloatField(null=True, blank=True, help_text="Events, last 28 days against the 28 before.")
    computed_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(organization="organization")

    class Meta:
        db_table = "integrations_accountusage"
        constraints = [models.UniqueConstraint(fields=["organization", "account"], name="account_usage_unique")]

    def __str__(self) -> str:
        return f"usage of account {self.account_id}"

    @property
    def days_since_last_use(self) -> int | None:
        if self.last_seen_at is None:
            return None
        return (timezone.now() - self.last_seen_at).days


class ConnectorSchedule(models.IntegerChoices):
    HOURLY = 60, "Every hour"
    EVERY_6_HOURS = 360, "Every 6 hours"
    DAILY = 1440, "Every day"


class UsageConnector(TenantModel):
    """A read-only query against the product's own PostgreSQL database (seed 001).

    The query returns ``(account_external_id, day, metric, value)`` rows; it may use
    ``%(since)s``, the first day not yet fully imported, to read incrementally.
    """

    name = models.CharField(max_length=100)
    # Fernet ciphertext (cs_platform/secrets.py); never shown back in full.
    dsn_encrypted = models.TextField()
    dsn_hint = models.CharField(max_length=200, blank=True, help_text="The connection string without its password.")
    query = models.TextField()
    schedule_minutes = models.PositiveIntegerField(choices=ConnectorSchedule.choices, default=ConnectorSchedule.DAILY)
    enabled = models.BooleanField(default=True)
    # The incremental cursor: the next run reads rows from this day on (re-reading it, as
    # a day's values keep changing until it is over).
    since = models.DateField(null=True, blank=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        db_table = "integrations_usageconnector"
        ordering = ["name"]
        indexes = [models.Index(fields=["organization", "next_run_at"], name="usage_connector_due")]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ConnectorRun(TenantModel):
    connector = models.ForeignKey(UsageConnector, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    since = models.DateField(null=True, blank=True)
    rows_read = models.IntegerField(default=0)
    rows_upserted = models.IntegerField(default=0)
    rows_unmatched = models.IntegerField(default=0)
    unmatched_sample = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(TenantModel.Meta):
        db_table = "integrations_connectorrun"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "connector", "-created_at"], name="connector_run_recent")]

    def __str__(self) -> str:
        return f"{self.connector} run {self.status}"
