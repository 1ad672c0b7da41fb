"""Bad input never gives a 5xx: every field of every form and every filter of every
organization page, every API parameter and the ingestion API get known-bad values and
generated text.

The pages are found by walking the URLconf (``tests/routes.py``) and read as a browser
would: the forms, their fields and current values, and the query parameters their links
and filter forms use. A new page, form, field or filter is covered by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson
import pytest
from django.test import Client
from django_scopes import scope
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.services import account_create
from api.services import api_token_create
from api.views import LIST_PARAMETERS
from usage.services import write_key_create
from tests.pages import Form, read_html
from tests.routes import organization_routes, url_for_route

# Each sent to every field and parameter on its own, the others left as they are, so a
# value a field accepts reaches whatever the view does with it: what broke pages before.
ONE_AT_A_TIME = ("²", "1e400", "9" * 40, "9999-12-31", "0001-01-01", "x" * 5000)
# Each sent to all of a form's fields (or a page's parameters) at once: cheaper, and enough
# for what a field's own cleaning (or the bad-input middleware) refuses.
ALL_AT_ONCE = (
    "\x00", "a\x00b", "١٢", "NaN", "Infinity", "-1", "2026-02-30", "9999-12", "0001-01",
    "9999-12-31T23:59:59-23:59", " ", "'\"><%",
)
RAW_VALUES = ("%FF%FE", "%00", "%C2%B2")  # sent as they are in a query string: not UTF-8, NUL, "²"
# Text a person or a program could send: any character that survives UTF-8, NUL included.
TEXT = st.text(st.characters(codec="utf-8"), max_size=300)


@dataclass
class Page:
    url: str
    forms: list[Form]  # POST forms posting within the organization
    parameters: dict[str, set[str]]  # its own address (or its filter form's) -> the query parameters used


def read_page(client: Client, url: str, org_prefix: str) -> Page | None:
    response = client.get(url)
    assert response.status_code < 500, f"GET {url} answered {response.status_code}"
    if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
        return None
    read = read_html(response.content, url)
    # Links to other pages are those pages' to sweep, with their own filter forms.
    own = urlsplit(url).path
    parameters = {path: set(names) for path, names in read.links.items() if path == own}
    for form in read.forms:
        if form.method == "get" and form.path.startswith(org_prefix):
            parameters.setdefault(form.path, set()).update(form.names)
    # Sign-out, or a button-only action (revoke, delete) that has nothing to vary, is left out.
    forms = [form for form in read.post_forms() if form.path.startswith(org_prefix) and form.names]
    return Page(url=url, forms=forms, parameters=parameters)


def _assert_answered(response, what: str) -> None:
    assert response.status_code < 500, f"{what} answered {response.status_code}"
    if response.streaming:  # a download must not break off midway either
        b"".join(response.streaming_content)


def send_everywhere(client: Client, page: Page) -> None:
    for address, names in page.parameters.items():
        for value in ALL_AT_ONCE:
            _assert_answered(client.get(address, dict.fromkeys(names, value)), f"GET {address} all={value!r}")
        for name in sorted(names):
            for value in ONE_AT_A_TIME:
                _assert_answered(client.get(address, {name: value}), f"GET {address}?{name}={value[:40]!r}")
            for raw in RAW_VALUES:
                _assert_answered(client.get(f"{address}?{name}={raw}"), f"GET {address}?{name}={raw}")
    for form in page.forms:
        for value in ALL_AT_ONCE:
            data, options = form.with_values(dict.fromkeys(form.names, value))
            _assert_answered(client.post(form.action, data, **options), f"POST {form.action} all={value!r}")
        for name in form.names:
            for value in ONE_AT_A_TIME:
                data, options = form.with_values({name: value})
                _assert_answered(client.post(form.action, data, **options), f"POST {form.action} {name}={value[:40]!r}")


@pytest.fixture
def sweeper(org, admin) -> Client:
    # A 5xx answered, not raised: the failure says which field and value, the log has the traceback.
    client = Client(raise_request_exception=False)
    client.force_login(admin)
    with scope(organization=org):
        account_create(organization=org, actor=None, name="Sweep Account")
    return client


def test_the_sweep_reads_forms_and_filters(sweeper, org):
    page = read_page(sweeper, f"/o/{org.slug}/accounts/", f"/o/{org.slug}/")
    assert {"q", "owner", "tier", "stage", "renewal", "priority", "sort", "dir"} <= page.parameters[f"/o/{org.slug}/accounts/"]
    account = read_page(sweeper, url_for_route("o/<slug:org_slug>/accounts/<str:account>/edit/", org), f"/o/{org.slug}/")
    assert {"name", "arr", "currency", "renewal_date", "priority", "owner"} <= set(account.forms[0].names)


@pytest.mark.parametrize("route", organization_routes())
def test_no_field_or_filter_of_the_page_answers_a_5xx_to_bad_values(route, sweeper, org):
    page = read_page(sweeper, url_for_route(route, org), f"/o/{org.slug}/")
    if page is not None:
        send_everywhere(sweeper, page)


def test_no_field_or_filter_answers_a_5xx_to_generated_text(sweeper, org):
    prefix = f"/o/{org.slug}/"
    pages = [page for route in organization_routes() if (page := read_page(sweeper, url_for_route(route, org), prefix))]
    targets = [("GET", address, name) for page in pages for address, names in page.parameters.items() for name in sorted(names)]
    forms = {(form.action, name): form for page in pages for form in page.forms for name in form.names}
    targets += [("POST", action, name) for action, name in forms]

    @given(target=st.sampled_from(targets), value=TEXT)
    def never_a_5xx(target, value):
        method, address, name = target
        if method == "GET":
            response = sweeper.get(address, {name: value})
        else:
            data, options = forms[(address, name)].with_values({name: value})
            response = sweeper.post(address, data, **options)
        _assert_answered(response, f"{method} {address} {name}={value[:40]!r}")

    never_a_5xx()


# --- The API ------------------------------------------------------------------------------


@pytest.fixture
def api_client(org) -> Client:
    with scope(organization=org):
        account_create(organization=org, actor=None, name="Sweep Account")
        token = api_token_create(organization=org, actor=None, label="sweep")[1]
    return Client(raise_request_exception=False, headers={"Authorization": f"Bearer {token}"})


def test_no_api_parameter_answers_a_5xx_to_bad_values(api_client):
    for name in LIST_PARAMETERS:
        for value in ONE_AT_A_TIME + ALL_AT_ONCE:
            response = api_client.get("/api/v1/accounts", {name: value})
            assert response.status_code < 500 and response["Content-Type"] == "application/json", (name, value)
        for raw in RAW_VALUES:
            response = api_client.get(f"/api/v1/accounts?{name}={raw}")
            assert response.status_code < 500 and response["Content-Type"] == "application/json", (name, raw)
    for value in ("\x00", "x" * 5000, "²"):
        assert api_client.get(f"/api/v1/accounts/{value}").status_code < 500


# The client fixture is made once for all examples: it only holds the token.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(LIST_PARAMETERS), TEXT, max_size=4))
def test_no_api_query_answers_a_5xx_to_generated_text(api_client, params):
    response = api_client.get("/api/v1/accounts", params)
    assert response.status_code < 500 and response["Content-Type"] == "application/json", params


# --- Ingestion ----------------------------------------------------------------------------------

# What a JSON encoder can send: integers up to 64 bits unsigned, finite floats.
INTEGERS = st.integers(min_value=-(2**63), max_value=2**64 - 1)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | INTEGERS | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
MESSAGES = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "identify", "group", "page", "bogus"])},
    optional={
        "userId": TEXT | INTEGERS, "anonymousId": TEXT, "messageId": TEXT, "event": TEXT, "name": TEXT,
        "groupId": TEXT, "timestamp": TEXT | st.datetimes().map(lambda moment: moment.isoformat()),
        "originalTimestamp": TEXT, "sentAt": TEXT, "properties": JSON_VALUES, "traits": JSON_VALUES,
        "context": JSON_VALUES,
    },
)


@pytest.fixture
def write_key(org, admin) -> str:
    with scope(organization=org):
        return write_key_create(organization=org, actor=admin, label="sweep")[1]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(MESSAGES | JSON_VALUES, min_size=1, max_size=5))
def test_a_batch_of_anything_is_answered_in_json_and_every_message_is_accounted_for(client, write_key, batch):
    response = client.post(
        "/v1/batch", orjson.dumps({"batch": batch, "writeKey": write_key}), content_type="application/json"
    )
    assert response.status_code in (200, 400) and response["Content-Type"] == "application/json", response.content
    body = response.json()
    if response.status_code == 400:  # never a silent loss: each message accepted or refused by index
        assert body["accepted"] + body["refused"] == len(batch)
        assert {error["index"] for error in body["errors"]} <= set(range(len(batch)))
