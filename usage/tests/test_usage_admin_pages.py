"""Admins' usage pages: unmatched usage mapped to accounts, and the feature list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account, AccountExternalId
from cs_platform.models import AuditEntry
from usage import partitions
from usage.ingest.store import ingest_segment
from usage.models import DirtyDay, EventDefinition, EventRole


@pytest.fixture
def acme(org) -> Account:
    with scope(organization=org):
        return Account.objects.create(organization=org, name="Acme Robotics")


def send(org, *messages: dict) -> None:
    with scope(organization=org):
        ingest_segment(org, list(messages))


def url(org, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def test_unmatched_page_lists_groups_and_users_and_maps_one(client, org, admin, acme):
    send(
        org,
        {"type": "track", "userId": "u1", "event": "E", "messageId": "a", "context": {"groupId": "team-9"}},
        {"type": "track", "userId": "u1", "event": "E", "messageId": "b", "context": {"groupId": "team-9"}},
        {"type": "identify", "userId": "solo", "messageId": "c", "traits": {"email": "solo@gmail.example"}},
    )
    client.force_login(admin)
    page = client.get(url(org, "usage:unmatched")).content.decode()
    assert "team-9" in page and "solo@gmail.example" in page
    assert '<option value="Acme Robotics">' in page  # account names suggested as you type
    response = client.post(
        url(org, "usage:unmatched_map"), {"kind": "group", "identifier": "team-9", "account": "acme robotics"}, follow=True
    )
    assert "2 past events count from the next rollup" in response.content.decode()
    with scope(organization=org):
        assert AccountExternalId.objects.get(external_id="team-9").account == acme
        assert AuditEntry.objects.filter(action="usage.unmatched_mapped").exists()
    assert "team-9" not in client.get(url(org, "usage:unmatched")).content.decode()


def test_mapping_to_an_unknown_account_says_so_and_changes_nothing(client, org, admin, acme):
    send(org, {"type": "track", "userId": "u1", "event": "E", "messageId": "a"})
    client.force_login(admin)
    response = client.post(url(org, "usage:unmatched_map"), {"kind": "user", "identifier": "u1", "account": "Nobody Inc"})
    assert response.status_code == 400
    assert "No account is called “Nobody Inc”" in response.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_usageevent WHERE organization_id = %s AND account_id IS NULL", [org.id])
        assert cursor.fetchone()[0] == 1


def test_rematch_picks_up_accounts_imported_later(client, org, admin, acme):
    send(org, {"type": "track", "userId": "u1", "event": "E", "messageId": "a", "context": {"groupId": "late"}})
    with scope(organization=org):
        AccountExternalId.objects.create(organization=org, account=acme, source="csv", external_id="late")
    client.force_login(admin)
    response = client.post(url(org, "usage:unmatched_map"), {"rematch": "1"}, follow=True)
    assert "1 events now match an account" in response.content.decode()


def test_the_feature_list_is_edited_and_recounts_the_recent_past(client, org, admin):
    client.force_login(admin)
    response = client.post(url(org, "usage:event_definitions"), {"role": "feature", "event_name": "Flow Deployed", "label": "Deploy flows"})
    assert response.status_code == 302
    with scope(organization=org):
        definition = EventDefinition.objects.get()
        assert (definition.role, definition.shown_name) == (EventRole.FEATURE, "Deploy flows")
        assert DirtyDay.objects.filter(day=timezone.now().date()).exists()  # the last 90 days are rolled up again
    duplicate = client.post(url(org, "usage:event_definitions"), {"role": "feature", "event_name": "Flow Deployed"})
    assert duplicate.status_code == 400 and "already exists" in duplicate.content.decode()
    client.post(url(org, "usage:event_definition_delete", definition=definition.public_id))
    with scope(organization=org):
        assert not EventDefinition.objects.exists()


def test_a_backfill_into_a_month_with_no_partition_makes_it(org):
    long_ago = timezone.now() - dt.timedelta(days=3 * 365)
    name = partitions.partition_name(partitions.month_of(long_ago))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    partitions.forget_cache()
    send(org, {"type": "track", "userId": "u1", "event": "E", "messageId": "old", "timestamp": long_ago.isoformat()})
    assert name in partitions.existing()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {name} WHERE organization_id = %s", [org.id])
        assert cursor.fetchone()[0] == 1


def test_partitions_are_kept_ready_and_old_ones_dropped_past_retention(org, settings):
    from usage.tasks import ensure_usage_partitions

    today = dt.date.today()
    ancient = partitions.partition_name((today.year - 4, 1))
    partitions.ensure_months({(today.year - 4, 1)})
    settings.USAGE_RAW_RETENTION_MONTHS = 0
    result = ensure_usage_partitions.apply().get()
    assert ancient in partitions.existing() and result["dropped"] == []
    assert partitions.partition_name(partitions.month_of(today)) in result["ready"]
    settings.USAGE_RAW_RETENTION_MONTHS = 24
    result = ensure_usage_partitions.apply().get()
    assert ancient in result["dropped"] and ancient not in partitions.existing()
    assert partitions.partition_name(partitions.month_of(today)) in partitions.existing()
