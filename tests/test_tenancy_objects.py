"""Organization A's objects asked for under organization B's own address, by each of B's roles.

For every URL with an object id (found by walking the URLconf, so new views are covered
by themselves), a member of B asking for A's object by GET, by an empty POST and by the
very form A's admin would submit gets the answer an id that exists nowhere gets (404 once
past the role check), and none of A's rows change. The same holds for B's forms offered
A's choices, B's API tokens naming A's objects, and B's write keys naming A's ids.
"""

from __future__ import annotations

import base64
import itertools

import orjson
import pytest
from django.test import Client
from django_scopes import scope, scopes_disabled

from accounts.models import Account, AccountExternalId, Contact
from accounts.services import account_create, tier_save
from api.services import api_token_create
from cs_platform.models import Organization, Role, User
from usage.models import UsageEvent, UsageUser
from usage.services import write_key_create
from tests.factories import OrganizationFactory, member
from tests.pages import read_html
from tests.routes import (
    foreign_references, make_objects, object_kwargs, organization_routes, tenant_rows, url_of,
)

ROLES = (Role.ADMIN, Role.MANAGER, Role.CSM, Role.AE, Role.VIEWER)
# Well-formed, and the id of nothing in any organization.
NOWHERE = "zzzzzzzzzzzz"
OBJECT_ROUTES = [route for route in organization_routes() if object_kwargs(route)]
# What a refusal may look like: a role check (403), a method check (405), or not found.
REFUSALS = {403, 404, 405}


class Cast:
    """Organization A with its admin, and organization B with a member of every role."""

    def __init__(self) -> None:
        self.a = OrganizationFactory(name="Alpha Analytics", slug="alpha")
        self.b = OrganizationFactory(name="Bravo Bikes", slug="bravo")
        self.a_admin = member(self.a, Role.ADMIN, email="admin@alpha.example")
        self.b_people = {role: member(self.b, role, email=f"{role}@bravo.example") for role in ROLES}

    def client_of(self, user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


def _mixes(names: list[str], theirs: dict[str, str], ours: dict[str, str]):
    """Every way of filling ``names`` from A's ids and B's, with at least one of A's.

    A nested URL (B's account, A's contact) must refuse as surely as an all-A one.
    """
    for picks in itertools.product((True, False), repeat=len(names)):
        if any(picks):
            yield {name: theirs[name] if pick else ours[name] for name, pick in zip(names, picks)}


def _form_a_admin_would_submit(cast: Cast, route: str, theirs: dict[str, str]) -> dict[str, list[str]] | None:
    url = url_of(route, cast.a, theirs)
    page = cast.client_of(cast.a_admin).get(url)
    if page.status_code != 200:
        return None
    forms = read_html(page.content, url).post_forms(to=url)
    return forms[0].filled() if forms else None


@pytest.mark.parametrize("route", OBJECT_ROUTES)
def test_members_of_another_organization_get_not_found_for_its_objects(route, cast):
    names = object_kwargs(route)
    theirs, ours = make_objects(cast.a, names), make_objects(cast.b, names)
    a_form = _form_a_admin_would_submit(cast, route, theirs)
    requests = [("GET", None), ("POST", {}), *([("POST (A's form)", a_form)] if a_form else [])]
    before = tenant_rows(cast.a)

    admin_answers = set()
    for role, person in cast.b_people.items():
        client = cast.client_of(person)
        for values in _mixes(names, theirs, ours):
            url = url_of(route, cast.b, values)
            nowhere = url_of(route, cast.b, {name: NOWHERE if values[name] == theirs.get(name) else value for name, value in values.items()})
            for method, data in requests:
                send = client.get if method == "GET" else client.post
                got, expected = send(url, data), send(nowhere, data)
                where = f"{role} of B, {method} {url}"
                assert got.status_code == expected.status_code, f"{where}: {got.status_code}, but {expected.status_code} for an id that exists nowhere"
                assert got.status_code in REFUSALS, f"{where} answered {got.status_code}"
                if role == Role.ADMIN:
                    admin_answers.add(got.status_code)

    # B's admin passes every role check, so the lookup itself must have said "not found".
    assert admin_answers - {405} == {404}, f"{route}: B's admin got {sorted(admin_answers)}"

    assert tenant_rows(cast.a) == before, f"{route}: organization A's rows changed"
    assert foreign_references(cast.b) == []


def _identifiers(org: Organization) -> set[str]:
    """Every id a form could name one of ``org``'s things by: its rows' ids and public ids, its people's ids."""
    rows = tenant_rows(org)
    found = {str(row[key]) for table in rows.values() for row in table for key in ("id", "public_id") if key in row}
    return found | {str(row["user_id"]) for row in rows["cs_platform.Membership"]}


def _shape(action: str, org: Organization, values: dict[str, str]) -> str:
    """A form's address with the organization and its objects' ids taken out, to pair A's forms with B's."""
    shape = action.replace(f"/o/{org.slug}/", "/o/{org}/")
    for name, value in values.items():
        shape = shape.replace(f"/{value}/", f"/{{{name}}}/")
    return shape


@pytest.mark.parametrize("route", organization_routes())
def test_forms_refuse_another_organizations_choices(route, cast):
    """B's admin submits B's own forms with A's accounts, tiers, contacts and people in their choices."""
    names = object_kwargs(route)
    theirs, ours = make_objects(cast.a, names), make_objects(cast.b, names)
    with scope(organization=cast.a):
        if not Account.objects.filter(name="Alpha Account").exists():
            account_create(organization=cast.a, actor=cast.a_admin, name="Alpha Account")
        tier_save(organization=cast.a, actor=cast.a_admin, name="Alpha Tier")
    b_url, a_url = url_of(route, cast.b, ours), url_of(route, cast.a, theirs)
    client = cast.client_of(cast.b_people[Role.ADMIN])
    b_page, a_page = client.get(b_url), cast.client_of(cast.a_admin).get(a_url)
    if not all(page.status_code == 200 and page["Content-Type"].startswith("text/html") for page in (a_page, b_page)):
        return  # not a page with forms (a download, a POST-only action)
    html = b_page.content.decode()
    for shown in ("Alpha Account", "Alpha Tier", cast.a_admin.email):
        assert shown not in html, f"{b_url} shows A's “{shown}”"

    foreign = _identifiers(cast.a) - _identifiers(cast.b)
    a_forms = {_shape(form.path, cast.a, theirs): form for form in read_html(a_page.content, a_url).post_forms()}
    before = tenant_rows(cast.a)
    for form in read_html(html, b_url).post_forms():
        mirror = a_forms.get(_shape(form.path, cast.b, ours))
        for name, offered in (mirror.choices.items() if mirror else ()):
            for value in [value for value in offered if value in foreign][:3]:
                client.post(form.path, {**form.filled(), name: [value]})
    assert tenant_rows(cast.a) == before, f"{route}: organization A's rows changed"
    assert foreign_references(cast.b) == [], f"{route}: B's rows now point at A's"


# --- APIs: tokens and write keys of B naming A's objects -------------------------------


@pytest.fixture
def alpha_account(cast) -> Account:
    """An account of A with an external id, a tier and an owner, and a contact with an e-mail."""
    with scope(organization=cast.a):
        tier = tier_save(organization=cast.a, actor=cast.a_admin, name="Alpha Enterprise")
        account = account_create(organization=cast.a, actor=cast.a_admin, name="Alpha Account", tier=tier, owner=cast.a_admin)
        AccountExternalId.objects.create(organization=cast.a, account=account, source="product", external_id="ACME-1")
        Contact.objects.create(organization=cast.a, account=account, name="Ada", email="ada@acme.example")
    return account


def _api(client: Client, token: str, path: str, **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_api_token_of_another_organization_reads_nothing_of_its_accounts(client, cast, alpha_account):
    with scope(organization=cast.b):
        account_create(organization=cast.b, actor=None, name="Bravo Account")
        _, token = api_token_create(organization=cast.b, actor=None, label="b")

    got, nowhere = (_api(client, token, f"/api/v1/accounts/{public_id}") for public_id in (alpha_account.public_id, NOWHERE))
    assert got.status_code == nowhere.status_code == 404

    alpha_ids = {alpha_account.public_id}
    for name, value, absent in [
        ("tier", alpha_account.tier.public_id, NOWHERE),
        ("tier", "Alpha Enterprise", "No Such Tier"),
        ("stage", alpha_account.stage.public_id if alpha_account.stage else NOWHERE, NOWHERE),
        ("owner", str(cast.a_admin.pk), "999999999"),
        ("owner", cast.a_admin.email, "nobody@nowhere.example"),
        ("q", "Alpha Account", "No Such Account"),
        ("q", "ACME-1", "NO-SUCH-1"),
    ]:
        got, expected = _api(client, token, "/api/v1/accounts", **{name: value}), _api(client, token, "/api/v1/accounts", **{name: absent})
        assert got.status_code == expected.status_code, f"{name}={value}"
        if got.status_code == 200:
            assert not alpha_ids & {row["id"] for row in got.json()["data"]}, f"{name}={value} listed A's account"
            assert got.json()["data"] == expected.json()["data"], f"{name}={value} answers differently from a value of no one's"


def _batch(client: Client, write_key: str, messages: list[dict]):
    credentials = base64.b64encode(f"{write_key}:".encode()).decode()
    return client.post(
        "/v1/batch", orjson.dumps({"batch": messages}), content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )


def test_write_key_of_another_organization_cannot_reach_its_accounts_or_contacts(client, cast, alpha_account):
    with scope(organization=cast.b):
        _, write_key = write_key_create(organization=cast.b, actor=None, label="b")
    before = tenant_rows(cast.a)
    at = "2026-12-01T10:00:00Z"
    response = _batch(client, write_key, [
        # A's account by its external id, its public id and its name; A's contact by e-mail.
        {"type": "identify", "userId": "u-1", "traits": {"email": "ada@acme.example"}, "messageId": "m1", "timestamp": at},
        {"type": "group", "userId": "u-1", "groupId": "ACME-1", "messageId": "m2", "timestamp": at},
        {"type": "group", "userId": "u-2", "groupId": alpha_account.public_id, "messageId": "m3", "timestamp": at},
        {"type": "track", "userId": "u-1", "event": "Flow Deployed", "messageId": "m4", "timestamp": at},
        {"type": "track", "userId": "u-3", "event": "Flow Deployed", "context": {"groupId": "Alpha Account"}, "messageId": "m5", "timestamp": at},
    ])
    assert response.status_code == 200, response.content

    assert tenant_rows(cast.a) == before
    assert foreign_references(cast.b) == []
    with scopes_disabled():  # comparing both organizations' rows
        assert not UsageEvent.objects.filter(organization=cast.b, account__isnull=False).exists()
        assert not UsageUser.objects.filter(organization=cast.b, account__isnull=False).exists()
        assert not UsageEvent.objects.filter(organization=cast.a).exists()


def test_unmatched_usage_cannot_be_mapped_to_another_organizations_account(client, cast, alpha_account):
    with scope(organization=cast.b):
        _, write_key = write_key_create(organization=cast.b, actor=None, label="b")
    _batch(client, write_key, [
        {"type": "group", "userId": "u-1", "groupId": "team-9", "messageId": "m1", "timestamp": "2026-12-01T10:00:00Z"},
        {"type": "track", "userId": "u-1", "event": "Flow Deployed", "messageId": "m2", "timestamp": "2026-12-01T10:00:00Z"},
    ])
    before = tenant_rows(cast.a)
    admin = cast.client_of(cast.b_people[Role.ADMIN])
    for named in (alpha_account.public_id, "ACME-1", "Alpha Account"):
        response = admin.post(f"/o/{cast.b.slug}/settings/usage/unmatched/map/", {"kind": "group", "identifier": "team-9", "account": named})
        assert response.status_code == 400, named
        assert "No account is called" in response.content.decode()
    assert tenant_rows(cast.a) == before
    assert foreign_references(cast.b) == []
