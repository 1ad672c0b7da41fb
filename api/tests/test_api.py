"""The read-only JSON API: bearer tokens, the account shape, filters, cursor pages, tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account, LifecycleStage, Tier
from accounts.services import account_create, tier_save
from api.models import ApiToken
from api.services import api_token_create, api_token_revoke
from cs_platform.models import Organization, User

ACCOUNTS = "/api/v1/accounts"


def make_token(organization: Organization) -> str:
    with scope(organization=organization):
        return api_token_create(organization=organization, actor=None, label="Warehouse")[1]


@pytest.fixture
def token(org) -> str:
    return make_token(org)


def call(client, token: str | None, path: str = ACCOUNTS, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, params, headers=headers)


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [account["name"] for account in response.json()["data"]]


@pytest.fixture
def book(org, csm) -> dict[str, Account]:
    """Three accounts: a fully described one, a bare one, and a churned one."""
    with scope(organization=org):
        premium = tier_save(organization=org, actor=None, name="Premium")
        starter = tier_save(organization=org, actor=None, name="Starter")
        return {
            "acme": account_create(
                organization=org, actor=None, name="Acme Robotics", tier=premium,
                stage=LifecycleStage.objects.get(name="Adoption"),
                external_ids={"hubspot": "123", "stripe": "cus_9"}, owner=csm, arr=1234500,
                renewal_date=dt.date(2026, 3, 31),
            ),
            "globex": account_create(
                organization=org, actor=None, name="Globex", tier=starter, renewal_date=dt.date(2026, 9, 30)
            ),
            "initech": account_create(organization=org, actor=None, name="Initech", status="churned"),
        }


# --- Authentication -------------------------------------------------------------------


def _revoked(org: Organization) -> str:
    with scope(organization=org):
        token, plaintext = api_token_create(organization=org, actor=None, label="Old")
        api_token_revoke(token=token, actor=None)
    return plaintext


@pytest.mark.parametrize(
    "header, message",
    [
        (None, "Send an API token in the Authorization header"),
        ("Basic YWRtaW46c2VjcmV0", "must read “Bearer <token>”, not start with “Basic”"),
        ("Bearer", "says “Bearer” but no token follows it"),
        ("Bearer abc123", "not a Tend API token"),
        ("Bearer tend_notatoken", "This API token is not recognised"),
        (_revoked, "This API token was revoked on"),
    ],
    ids=["missing", "other-scheme", "no-token", "malformed", "unknown", "revoked"],
)
def test_requests_without_a_working_token_get_a_json_401_saying_why(client, org, header, message):
    if callable(header):
        header = f"Bearer {header(org)}"
    response = client.get(ACCOUNTS, headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert message in response.json()["message"]
    assert response["WWW-Authenticate"].startswith('Bearer realm="Tend API"')
    assert "YWRtaW46c2VjcmV0" not in response.json()["message"]  # credentials are never echoed


def test_only_get_is_answered_with_a_json_405(client, token):
    response = client.post(ACCOUNTS, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "GET"


def test_unknown_api_addresses_are_a_json_404(client, token):
    response = call(client, token, "/api/v1/contacts")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert "/api/v1/accounts" in response.json()["message"]


def test_last_used_is_recorded_at_most_once_a_minute(client, org, token, book):
    with scope(organization=org):
        stored = ApiToken.objects.get()
    assert stored.last_used_at is None
    call(client, token)
    stored.refresh_from_db()
    first_use = stored.last_used_at
    assert first_use is not None

    with CaptureQueriesContext(connection) as queries:
        call(client, token)
    assert not any(query["sql"].startswith("UPDATE") for query in queries.captured_queries)
    stored.refresh_from_db()
    assert stored.last_used_at == first_use

    with scope(organization=org):
        ApiToken.objects.update(last_used_at=first_use - dt.timedelta(minutes=2))
    call(client, token)
    stored.refresh_from_db()
    assert stored.last_used_at > first_use


# --- Shape ----------------------------------------------------------------------------


def test_an_account_reads_as_documented(client, token, book, csm):
    response = call(client, token, f"{ACCOUNTS}/{book['acme'].public_id}")
    assert response.status_code == 200
    assert response["Cache-Control"].count("no-store") == 1
    body = response.json()
    assert body.pop("updated_at").startswith(str(timezone.now().year))
    assert body == {
        "id": book["acme"].public_id,
        "name": "Acme Robotics",
        "external_ids": {"hubspot": "123", "stripe": "cus_9"},
        "tier": "Premium",
        "stage": "Adoption",
        "owner": {"id": csm.id, "email": "csm@flowfuse.example", "name": "Sofia Marin"},
        "arr": 1234500,
        "currency": "USD",
        "renewal_date": "2026-03-31",
        "status": "active",
        "last_seen_at": None,
        "usage": None,
    }


def test_the_list_gives_the_same_shape_in_id_order_with_nulls_for_what_is_unset(client, token, book):
    response = call(client, token)
    body = response.json()
    assert body["next_cursor"] is None
    assert [account["name"] for account in body["data"]] == ["Acme Robotics", "Globex"]
    assert body["data"][0] == call(client, token, f"{ACCOUNTS}/{book['acme'].public_id}").json()
    globex = body["data"][1]
    assert globex["stage"] is None and globex["owner"] is None and globex["external_ids"] == {}


def test_a_churned_account_is_still_readable_by_id(client, token, book):
    response = call(client, token, f"{ACCOUNTS}/{book['initech'].public_id}")
    assert response.json()["status"] == "churned"


def test_an_unknown_id_is_a_json_404(client, token, book):
    response = call(client, token, f"{ACCOUNTS}/nosuchaccount")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_an_id_with_a_nul_is_a_json_400(client, token, book):
    response = call(client, token, f"{ACCOUNTS}/a%00b")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_input", "message": response.json()["message"]}
    assert "NUL" in response.json()["message"]


# --- Filters --------------------------------------------------------------------------


def _tier_id(name: str) -> Callable[[dict, User], str]:
    return lambda book, csm: Tier.objects.get(name=name).public_id


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, ["Acme Robotics", "Globex"]),
        ({"status": "all"}, ["Acme Robotics", "Globex", "Initech"]),
        ({"status": "churned"}, ["Initech"]),
        ({"owner": lambda book, csm: str(csm.id)}, ["Acme Robotics"]),
        ({"owner": "CSM@flowfuse.example"}, ["Acme Robotics"]),
        ({"owner": "nobody@flowfuse.example"}, []),
        ({"tier": "premium"}, ["Acme Robotics"]),
        ({"tier": _tier_id("Starter")}, ["Globex"]),
        ({"stage": "Adoption"}, ["Acme Robotics"]),
        ({"stage": lambda book, csm: book["acme"].stage.public_id}, ["Acme Robotics"]),
        ({"renewal_before": "2026-06-01"}, ["Acme Robotics"]),
        ({"renewal_after": "2026-06-01"}, ["Globex"]),
        ({"renewal_after": "2026-03-31", "renewal_before": "2026-09-30"}, []),  # both exclusive
        ({"q": "GLOB"}, ["Globex"]),
        ({"q": "o", "tier": "Premium"}, ["Acme Robotics"]),
        ({"updated_since": "2025-06-01T00:00:00Z"}, ["Globex"]),
        ({"updated_since": "2025-06-01T02:00:00+02:00"}, ["Globex"]),
        ({"updated_since": "2024-01-01"}, ["Acme Robotics", "Globex"]),
    ],
)
def test_each_filter_narrows_the_list(client, org, token, book, csm, params, expected):
    with scope(organization=org):
        # update() skips auto_now: Acme was last changed long ago.
        Account.objects.filter(pk=book["acme"].pk).update(updated_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        params = {name: value(book, csm) if callable(value) else value for name, value in params.items()}
    assert names(call(client, token, **params)) == expected


@pytest.mark.parametrize(
    "params, message",
    [
        ({"renewal_before": "2026-02-30"}, "renewal_before: “2026-02-30” must be a real calendar date"),
        ({"renewal_after": "next week"}, "renewal_after: “next week” must be a date written YYYY-MM-DD"),
        ({"updated_since": "yesterday"}, "updated_since: “yesterday” must be an ISO 8601 date-time"),
        ({"updated_since": "9999-12-31T23:59:59-23:59"}, "updated_since: “9999-12-31T23:59:59-23:59” must be between the years"),
        ({"updated_since": "2026-03-31T09:30:00-23:59"}, "updated_since: “2026-03-31T09:30:00-23:59” has a UTC offset beyond"),
        ({"limit": "0"}, "limit: “0” must be a whole number from 1 to 500"),
        ({"limit": "501"}, "limit: “501”"),
        ({"limit": "ten"}, "limit: “ten”"),
        ({"status": "closed"}, "status: “closed” is not one of active, churned, all"),
        ({"owner": "Sofia"}, "owner: “Sofia” is neither a user id"),
        ({"tier": "Gold"}, "tier: this organization has no tier named “Gold”"),
        ({"stage": "Nirvana"}, "stage: this organization has no stage named “Nirvana”"),
        ({"ownr": "1"}, "ownr: not a parameter of this endpoint"),
        ({"cursor": "MTIz"}, "cursor: “MTIz” is not a cursor this API issued"),
        ({"owner": "9" * 40}, "owner: “9999"),
        ({"q": "x" * 600}, "is 600 characters long; at most 500 are allowed"),
        ({"q": "a\x00b"}, "q: contains a NUL character"),
        ({"owner": "²"}, "owner: “²” is neither a user id"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter_and_the_reason(client, token, book, params, message):
    response = call(client, token, **params)
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_parameter", "message": response.json()["message"]}
    assert message in response.json()["message"]


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00", "2026-03-31T09:30:00+23:00"])
def test_updated_since_beyond_the_calendar_or_any_time_zone_is_a_400_naming_it(client, token, book, value):
    response = call(client, token, updated_since=value)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter" and response.json()["message"].startswith("updated_since: ")


def test_updated_since_with_an_offset_is_read_in_utc(client, token, book):
    with scope(organization=book["acme"].organization):
        Account.objects.filter(pk=book["acme"].pk).update(updated_at=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC))
        Account.objects.exclude(pk=book["acme"].pk).update(updated_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC))
    # 13:30 at +02:00 is 11:30 UTC: Acme (12:00 UTC) is after it.
    assert "Acme Robotics" in names(call(client, token, updated_since="2025-01-01T13:30:00+02:00"))
    assert "Acme Robotics" not in names(call(client, token, updated_since="2025-01-01T13:30:00+00:00"))


# --- Pages ----------------------------------------------------------------------------


def _more_accounts(org: Organization, count: int) -> None:
    with scope(organization=org):
        for number in range(count):
            account_create(
                organization=org, actor=None, name=f"Customer {number:02}", external_ids={"csv": f"row-{number}"}
            )


def test_the_cursor_walks_every_page_once(client, org, token, book):
    _more_accounts(org, 20)
    seen, pages, cursor = [], 0, None
    while True:
        body = call(client, token, limit=6, **({"cursor": cursor} if cursor else {})).json()
        seen += [account["id"] for account in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    with scope(organization=org):
        active = list(Account.objects.filter(status="active").order_by("id").values_list("public_id", flat=True))
    assert seen == active  # in id order, none twice, none missed
    assert len(active) == 22 and pages == 4


def test_a_forged_or_borrowed_cursor_is_refused(client, org, other_org, token, book):
    _more_accounts(org, 3)
    cursor = call(client, token, limit=2).json()["next_cursor"]
    payload, _, signature = cursor.rpartition(":")
    forged = signing.dumps(0, salt="api.accounts.cursor")  # signed, but not as this API signs
    for bad in (payload + ":" + signature[::-1], forged):
        response = call(client, token, cursor=bad)
        assert response.status_code == 400 and response.json()["message"].startswith("cursor:")
    # A cursor issued to another organization's token means nothing here.
    response = call(client, make_token(other_org), cursor=cursor)
    assert response.status_code == 400


def test_the_number_of_queries_does_not_grow_with_the_page(client, org, token, book, django_assert_max_num_queries):
    call(client, token)  # records last use, so the requests below compare like with like
    with CaptureQueriesContext(connection) as small:
        assert len(names(call(client, token, limit=2))) == 2
    _more_accounts(org, 40)
    # Token, accounts with tier/stage/owner joined, their external ids; tier filter adds one.
    with django_assert_max_num_queries(4):
        assert len(names(call(client, token, limit=40, tier="Premium", status="all"))) == 1
    with CaptureQueriesContext(connection) as large:
        assert len(names(call(client, token, limit=40))) == 40
    assert len(large.captured_queries) == len(small.captured_queries) == 3


# --- Tenancy --------------------------------------------------------------------------


def test_another_organizations_token_sees_none_of_these_accounts(client, org, other_org, token, book):
    with scope(organization=other_org):
        account_create(organization=other_org, actor=None, name="Elsewhere's customer")
    theirs = make_token(other_org)
    assert names(call(client, theirs, status="all")) == ["Elsewhere's customer"]
    response = call(client, theirs, f"{ACCOUNTS}/{book['acme'].public_id}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # ...and the other way round.
    assert "Elsewhere's customer" not in names(call(client, token, status="all"))


def test_a_signed_in_session_is_not_an_api_credential(client, admin, book):
    client.force_login(admin)
    assert client.get(ACCOUNTS).status_code == 401
