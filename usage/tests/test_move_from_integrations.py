"""A database made while product usage lived in ``integrations/`` keeps every row after the move.

The test migrates back to before the move, writes usage the way the old code did (events,
rollups, metrics, a write key, a connector, a queued task, a scheduled task), migrates
forward, and reads it all through the ``usage`` app's models.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_scopes import scopes_disabled

from cs_platform.selectors import token_hash
from usage import selectors
from usage.models import AccountUsage, ConnectorRun, UsageConnector, UsageDaily, UsageEvent, WriteKey

BEFORE_THE_MOVE = [("integrations", "0004_seen_message_key_by_source"), ("usage", None)]
DAY = dt.date(2026, 11, 3)
KEY = "tendwk_" + "k" * 40


def _migrate(targets):
    """Migrate to ``targets``; the models as the migrations applied then define them."""
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps


def _write_the_old_way(apps) -> None:
    """Rows as the code before the move wrote them, through its models of the time."""
    Organization = apps.get_model("cs_platform", "Organization")
    Account = apps.get_model("accounts", "Account")
    organization = Organization.objects.create(name="Before", slug="before")
    account = Account.objects.create(organization=organization, name="Old Account", currency="USD")
    apps.get_model("integrations", "WriteKey").objects.create(
        organization=organization, label="web", prefix=KEY[:12], key_hash=token_hash(KEY)
    )
    UsageDaily = apps.get_model("integrations", "UsageDaily")
    UsageDaily.objects.bulk_create(
        UsageDaily(organization=organization, account=account, day=DAY - dt.timedelta(days=n), metric="events", value=n + 1)
        for n in range(5)
    )
    apps.get_model("integrations", "AccountUsage").objects.create(
        organization=organization, account=account, computed_at=timezone.now(), logins_7d=4
    )
    connector = apps.get_model("integrations", "UsageConnector").objects.create(
        organization=organization, name="Product DB", dsn_encrypted="x", dsn_hint="postgresql://r@db/p",
        query="SELECT 1", schedule_minutes=60, next_run_at=timezone.now(),
    )
    apps.get_model("integrations", "ConnectorRun").objects.create(organization=organization, connector=connector)
    with connection.cursor() as cursor:
        # The raw events' table is partitioned and written in SQL, then as now.
        cursor.execute(
            "INSERT INTO integrations_usageevent (organization_id, timestamp, received_at, type, event, user_id,"
            " anonymous_id, group_id, account_id, message_id, source, properties)"
            " SELECT %s, %s, now(), 'track', 'Flow Deployed', 'u-' || n, '', 'acme', %s, 'm-' || n, 'segment', '{}'"
            " FROM generate_series(1, 7) AS n",
            [organization.pk, timezone.make_aware(dt.datetime.combine(DAY, dt.time(12))), account.pk],
        )
    apps.get_model("cs_platform", "OutboxMessage").objects.create(
        task="integrations.rollup_usage", args=[organization.pk], next_attempt_at=timezone.now()
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.create(
        name="usage-rollup-due", task="integrations.rollup_due",
        interval=apps.get_model("django_celery_beat", "IntervalSchedule").objects.create(every=60, period="seconds"),
    )


@pytest.mark.django_db(transaction=True)
def test_a_database_made_before_the_move_keeps_every_usage_row():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        _write_the_old_way(_migrate(BEFORE_THE_MOVE))
    finally:
        apps_now = _migrate(latest)

    with scopes_disabled():  # reading back what the test wrote, across the one organization
        assert UsageDaily.objects.count() == 5 and sum(UsageDaily.objects.values_list("value", flat=True)) == 15
        # The raw events' table is not Django's to empty between tests: other tests' rows may be there.
        assert UsageEvent.objects.filter(organization__slug="before").count() == 7
        assert AccountUsage.objects.get().logins_7d == 4
        assert ConnectorRun.objects.get().connector == UsageConnector.objects.get(name="Product DB")
        assert WriteKey.objects.count() == 1
    assert selectors.write_key_by_hash(token_hash(KEY)).label == "web"  # the old key still authenticates

    assert set(apps_now.get_model("contenttypes", "ContentType").objects.filter(model="usagedaily").values_list("app_label", flat=True)) == {"usage"}
    assert apps_now.get_model("cs_platform", "OutboxMessage").objects.get().task == "usage.rollup_usage"
    assert apps_now.get_model("django_celery_beat", "PeriodicTask").objects.get(name="usage-rollup-due").task == "usage.rollup_due"
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conname LIKE '%%writekey_public_id'")
        assert [row[0] for row in cursor.fetchall()] == ["usage_writekey_public_id"]
