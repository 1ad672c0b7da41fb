"""Admins make and revoke API tokens, in the UI and from the command line; nobody else may."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django_scopes import scope

from api.models import ApiToken
from api.services import api_token_create, api_token_revoke
from cs_platform.models import AuditEntry, Organization

PAGE = "/o/flowfuse/settings/api-tokens/"


def works(client, plaintext: str) -> bool:
    """Whether the token gets into the API (200) rather than being refused (401)."""
    status = client.get("/api/v1/accounts", headers={"Authorization": f"Bearer {plaintext}"}).status_code
    assert status in {200, 401}
    return status == 200


def the_token(org: Organization) -> ApiToken:
    with scope(organization=org):
        return ApiToken.objects.get()


# --- In the UI ------------------------------------------------------------------------


def test_the_empty_page_explains_the_api_with_an_example(as_admin, org):
    html = as_admin.get(PAGE).content.decode()
    assert "No API tokens yet" in html
    assert "read this organization's accounts" in html
    assert 'curl -H "Authorization: Bearer tend_…" "http://testserver/api/v1/accounts' in html


def test_an_admin_creates_a_token_that_is_shown_once_and_stored_hashed(client, as_admin, org, admin):
    response = as_admin.post(PAGE, {"label": "Data warehouse"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "it will not be shown again" in html
    assert "no-store" in response["Cache-Control"]
    plaintext = html.split('data-testid="token-plaintext">')[1].split("<")[0]
    assert plaintext.startswith("tend_") and len(plaintext) > 40

    token = the_token(org)
    assert token.label == "Data warehouse" and token.created_by == admin
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.prefix == plaintext[:9]
    assert plaintext not in {str(value) for value in vars(token).values()}
    with scope(organization=org):
        entry = AuditEntry.objects.get(action="api_token.created")
    assert entry.actor == admin and entry.target_id == token.public_id and plaintext not in str(entry.changes)

    listing = as_admin.get(PAGE).content.decode()
    assert plaintext not in listing
    assert f"{token.prefix}…" in listing and "Data warehouse" in listing and "Never" in listing
    assert works(client, plaintext)


def test_a_token_needs_a_label(as_admin, org):
    response = as_admin.post(PAGE, {"label": "  "})
    assert response.status_code == 200 and b"This field is required" in response.content
    with scope(organization=org):
        assert not ApiToken.objects.exists()


def test_an_admin_revokes_a_token_and_it_stops_working_at_once(client, as_admin, org, admin):
    with scope(organization=org):
        token, plaintext = api_token_create(organization=org, actor=admin, label="BI dashboard")
    assert works(client, plaintext)
    revoke = f"{PAGE}{token.public_id}/revoke/"

    response = as_admin.post(revoke, follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "Revoked “BI dashboard”" in response.content.decode()
    assert the_token(org).revoked_at is not None
    with scope(organization=org):
        assert AuditEntry.objects.get(action="api_token.revoked").actor == admin
    assert not works(client, plaintext)

    again = as_admin.post(revoke, follow=True).content.decode()
    assert "was already revoked" in again
    assert as_admin.get(revoke).status_code == 405  # a link cannot revoke


def test_an_admin_cannot_reach_another_organizations_token_through_their_own(as_admin, org, other_org):
    with scope(organization=other_org):
        theirs, plaintext = api_token_create(organization=other_org, actor=None, label="Theirs")
    assert as_admin.post(f"{PAGE}{theirs.public_id}/revoke/").status_code == 404
    assert the_token(other_org).revoked_at is None


@pytest.mark.parametrize("role", ["csm", "viewer"])
def test_only_admins_manage_tokens(request, client, org, role):
    client.force_login(request.getfixturevalue(role))
    with scope(organization=org):
        token, _ = api_token_create(organization=org, actor=None, label="Existing")
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"label": "Mine now"}).status_code == 403
    assert client.post(f"{PAGE}{token.public_id}/revoke/").status_code == 403
    assert the_token(org).revoked_at is None  # and no second token was made


def test_the_settings_navigation_offers_tokens_to_admins_only(client, org, admin, csm):
    client.force_login(admin)
    assert PAGE in client.get("/o/flowfuse/").content.decode()
    client.force_login(csm)
    assert PAGE not in client.get("/o/flowfuse/").content.decode()


def test_revoking_twice_is_refused_with_a_reason(org):
    with scope(organization=org):
        token, _ = api_token_create(organization=org, actor=None, label="Once")
        api_token_revoke(token=token, actor=None)
        with pytest.raises(ValidationError, match="already revoked"):
            api_token_revoke(token=token, actor=None)


# --- From the command line ------------------------------------------------------------


def api_token(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_creates_a_token_and_prints_it_last(client, org):
    out, err = api_token("create", "--org", "flowfuse", "--label", "Nightly export")
    plaintext = out.strip().splitlines()[-1]
    assert plaintext == out.strip()  # stdout holds the token alone, for TOKEN=$(…)
    assert "will not be shown again" in err
    assert works(client, plaintext)
    token = the_token(org)
    assert token.label == "Nightly export" and token.created_by is None
    with scope(organization=org):
        assert AuditEntry.objects.get(action="api_token.created").actor is None


def test_the_command_lists_and_revokes_by_prefix_or_id(client, org):
    assert api_token("list", "--org", "flowfuse")[0].strip() == "FlowFuse has no API tokens."
    with scope(organization=org):
        first, first_plaintext = api_token_create(organization=org, actor=None, label="First")
        second, second_plaintext = api_token_create(organization=org, actor=None, label="Second")

    listing = api_token("list", "--org", "flowfuse")[0]
    assert f"{first.prefix}…" in listing and first.public_id in listing and "First" in listing

    out, _ = api_token("revoke", "--org", "flowfuse", f"{first.prefix}…")  # as copied from the list
    assert "Revoked “First”" in out
    api_token("revoke", "--org", "flowfuse", second.public_id)
    assert not works(client, first_plaintext) and not works(client, second_plaintext)
    assert api_token("list", "--org", "flowfuse")[0].count("revoked") == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["create", "--org", "nowhere", "--label", "x"], "No organization has the slug “nowhere”."),
        (["list", "--org", "nowhere"], "No organization has the slug “nowhere”."),
        (["revoke", "--org", "nowhere", "tend_abcd"], "No organization has the slug “nowhere”."),
        (["revoke", "--org", "flowfuse", "tend_zzzz"], "FlowFuse has no API token with the prefix or id “tend_zzzz”."),
    ],
)
def test_the_command_explains_what_it_cannot_find(org, args, message):
    with pytest.raises(CommandError, match=message):
        api_token(*args)


def test_the_command_cannot_revoke_another_organizations_token(org, other_org):
    with scope(organization=other_org):
        theirs, _ = api_token_create(organization=other_org, actor=None, label="Theirs")
    with pytest.raises(CommandError, match="FlowFuse has no API token"):
        api_token("revoke", "--org", "flowfuse", theirs.public_id)
