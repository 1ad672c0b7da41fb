"""Requests Tend cannot read (NUL or non-UTF-8 in the address or a form) get a 400 with a
sentence before any view runs: a page for people, JSON for the APIs."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def signed_in(client, admin) -> Client:
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "address, says",
    [
        ("/o/flowfuse/accounts/%00/", "The address contains a NUL character"),
        ("/o/flowfuse/accounts/%FF/", "The address is not UTF-8 text"),
        ("/o/flowfuse/accounts/?q=%FF%FE", "The address&#x27;s “q” is not UTF-8 text"),
        ("/o/flowfuse/accounts/?q%00=1", "has a name that contains a NUL character"),
    ],
)
def test_an_unreadable_address_is_a_400_page_with_a_sentence(signed_in, address, says):
    response = signed_in.get(address)
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    assert says in response.content.decode()


def test_the_audit_log_answers_a_nul_in_its_filter_with_a_400_sentence(signed_in):
    response = signed_in.get("/o/flowfuse/settings/audit/?action=%00")
    assert response.status_code == 400
    assert "“action” contains a NUL character" in response.content.decode()
    overlong = signed_in.get("/o/flowfuse/settings/audit/", {"action": "x" * 101})
    assert overlong.status_code == 400 and "Show is 101 characters long; at most 100 are allowed." in overlong.content.decode()


def test_a_form_with_a_nul_or_non_utf8_is_a_400_and_changes_nothing(signed_in, org):
    for body in (b"name=Acme%00Corp&currency=USD", b"name=Acme%FFCorp&currency=USD"):
        response = signed_in.post("/o/flowfuse/settings/", body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 400
        assert "The form&#x27;s field “name”" in response.content.decode()
    org.refresh_from_db()
    assert org.name == "FlowFuse"
    multipart = signed_in.post("/o/flowfuse/settings/", {"name": "Acme\x00Corp"})
    assert multipart.status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/accounts?q=%00", "/v1/batch?x=%FF", "/import?group_key=%00"])
def test_the_apis_answer_an_unreadable_address_in_json(client, path):
    response = client.get(path) if path.startswith("/api") else client.post(path, b"{}", content_type="application/json")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "invalid_parameter" and response.json()["message"]
