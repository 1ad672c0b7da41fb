"""The real Segment Python library, pointed at a live Tend, sends identify, group and track."""

from __future__ import annotations

import pytest
from django.db import connection
from django_scopes import scope

from accounts.models import Account, AccountExternalId, Contact
from usage import rollups, services
from usage.models import AccountUsage, UsageDaily


@pytest.mark.django_db(transaction=True)
def test_segment_python_client_events_are_stored_and_counted(live_server, org, admin):
    from segment.analytics.client import Client

    with scope(organization=org):
        account = Account.objects.create(organization=org, name="Greenhouse Co")
        AccountExternalId.objects.create(organization=org, account=account, source="product", external_id="gh-1")
        _, write_key = services.write_key_create(organization=org, actor=admin, label="Segment test")
    failures = []
    client = Client(
        write_key=write_key, host=live_server.url, gzip=True, max_retries=0,
        on_error=lambda error, batch: failures.append(error),
    )
    client.identify("user-1", {"email": "grower@greenhouse.example", "name": "Gro Wer"})
    client.group("user-1", "gh-1", {"name": "Greenhouse Co"})
    for _ in range(3):
        client.track("user-1", "Flow Deployed", {"flow": "irrigation"})
    client.flush()
    client.shutdown()
    assert failures == []

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, count(*) FROM integrations_usageevent WHERE organization_id = %s AND account_id = %s GROUP BY type",
            [org.id, account.id],
        )
        assert dict(cursor.fetchall()) == {"identify": 1, "group": 1, "track": 3}
    with scope(organization=org):
        rollups.rollup_dirty_days(organization=org)
        rollups.account_usage_refresh(organization=org)
        daily = {row.metric: row.value for row in UsageDaily.objects.filter(account=account)}
        assert daily["events"] == 3 and daily["event:Flow Deployed"] == 3 and daily["active_users"] == 1
        usage = AccountUsage.objects.get(account=account)
        assert usage.events_7d == 3 and usage.active_users_7d == 1 and usage.last_seen_at is not None
        assert Contact.objects.get(account=account, external_id="user-1").email == "grower@greenhouse.example"


@pytest.mark.django_db(transaction=True)
def test_segment_client_reports_a_wrong_key(live_server, org):
    from segment.analytics.client import Client

    failures = []
    client = Client(
        write_key="tendwk_wrong", host=live_server.url, max_retries=0,
        on_error=lambda error, batch: failures.append(error),
    )
    client.track("user-1", "Flow Deployed")
    client.flush()
    client.shutdown()
    assert failures and "not recognised" in str(failures[0])
