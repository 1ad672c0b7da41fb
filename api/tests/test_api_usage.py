"""The accounts JSON API's usage fields: each account's usage metrics and last-seen time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from accounts.services import account_create
from api.services import api_token_create
from usage.models import AccountUsage

ACCOUNTS = "/api/v1/accounts"


@pytest.fixture
def token(org) -> str:
    with scope(organization=org):
        return api_token_create(organization=org, actor=None, label="Warehouse")[1]


def call(client, token: str, path: str = ACCOUNTS, **params):
    return client.get(path, params, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def accounts(org):
    """Acme has usage metrics (seen 4 days ago), Globex none yet."""
    with scope(organization=org):
        acme = account_create(organization=org, actor=None, name="Acme Robotics")
        globex = account_create(organization=org, actor=None, name="Globex")
        usage = AccountUsage.objects.create(
            organization=org, account=acme, last_seen_at=timezone.now() - dt.timedelta(days=4, hours=1),
            logins_7d=41, active_users_7d=12, seats=20, wau_per_seat=0.6, api_calls_7d=1500,
            features_used_30d=2, features_total=5, feature_adoption_pct=40.0, wow_change_pct=-12.5, trend_4w_pct=8.0,
        )
    return {"acme": acme, "globex": globex, "usage": usage}


def test_an_account_with_usage_reads_its_metrics_and_last_seen(client, token, accounts):
    body = call(client, token, f"{ACCOUNTS}/{accounts['acme'].public_id}").json()
    usage = accounts["usage"]
    assert dt.datetime.fromisoformat(body["last_seen_at"]) == usage.last_seen_at
    assert body["usage"] == {
        "logins_per_week": 41,
        "weekly_active_users": 12,
        "seats": 20,
        "wau_per_seat": 0.6,
        "feature_adoption_pct": 40.0,
        "api_calls_per_week": 1500,
        "days_since_last_use": 4,
        "wow_change_pct": -12.5,
        "trend_4w_pct": 8.0,
        "computed_at": usage.computed_at.isoformat(),
    }


def test_an_account_without_usage_has_nulls(client, token, accounts):
    body = call(client, token, f"{ACCOUNTS}/{accounts['globex'].public_id}").json()
    assert body["last_seen_at"] is None and body["usage"] is None


def test_metrics_without_a_last_seen_time_read_as_null_last_seen(client, org, token, accounts):
    with scope(organization=org):
        AccountUsage.objects.filter(account=accounts["acme"]).update(last_seen_at=None)
    body = call(client, token, f"{ACCOUNTS}/{accounts['acme'].public_id}").json()
    assert body["last_seen_at"] is None
    assert body["usage"]["days_since_last_use"] is None and body["usage"]["logins_per_week"] == 41


def test_the_list_carries_the_same_usage_fields_without_a_query_per_account(client, org, token, accounts):
    call(client, token)  # records the token's last use, so the requests below compare like with like
    with CaptureQueriesContext(connection) as small:
        data = call(client, token).json()["data"]
    assert [(row["name"], row["usage"] is not None) for row in data] == [("Acme Robotics", True), ("Globex", False)]
    assert data[0] == call(client, token, f"{ACCOUNTS}/{accounts['acme'].public_id}").json()
    with scope(organization=org):
        for n in range(30):
            row = account_create(organization=org, actor=None, name=f"More {n:02}")
            if n % 2:
                AccountUsage.objects.create(organization=org, account=row, last_seen_at=timezone.now())
    with CaptureQueriesContext(connection) as large:
        assert len(call(client, token).json()["data"]) == 32
    assert len(large.captured_queries) == len(small.captured_queries)
