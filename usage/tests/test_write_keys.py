"""Write keys: made and revoked by admins in Settings or on the command line; shown once."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_scopes import scope

from cs_platform.models import AuditEntry
from usage.models import WriteKey


def test_admin_creates_a_key_that_is_shown_once_and_works(client, org, admin, password):
    client.force_login(admin)
    url = reverse("usage:sources", kwargs={"org_slug": org.slug})
    response = client.post(url, {"label": "Web app (production)"})
    assert response.status_code == 200
    plaintext = response.context["created"]["plaintext"]
    assert plaintext.startswith("tendwk_") and plaintext in response.content.decode()
    assert "no-cache" in response["Cache-Control"]
    # Never shown again, and only its hash is stored.
    assert plaintext not in client.get(url).content.decode()
    with scope(organization=org):
        key = WriteKey.objects.get()
        assert plaintext not in key.key_hash and key.prefix == plaintext[:11]
        assert AuditEntry.objects.filter(action="write_key.created").exists()
    auth = "Basic " + base64.b64encode(f"{plaintext}:".encode()).decode()
    body = {"batch": [{"type": "track", "userId": "u", "event": "E"}]}
    sent = client.post("/v1/batch", json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert sent.status_code == 200
    with scope(organization=org):
        assert WriteKey.objects.get().last_used_at is not None


def test_a_label_is_required(client, org, admin):
    client.force_login(admin)
    response = client.post(reverse("usage:sources", kwargs={"org_slug": org.slug}), {"label": ""})
    assert response.status_code == 200 and response.context["form"].errors["label"]
    with scope(organization=org):
        assert not WriteKey.objects.exists()


def test_revoking_from_the_page(client, org, admin):
    client.force_login(admin)
    client.post(reverse("usage:sources", kwargs={"org_slug": org.slug}), {"label": "Old"})
    with scope(organization=org):
        key = WriteKey.objects.get()
    response = client.post(reverse("usage:write_key_revoke", kwargs={"org_slug": org.slug, "key": key.public_id}), follow=True)
    assert "Revoked" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize("name", ["usage:sources", "usage:unmatched", "usage:event_definitions"])
def test_only_admins_manage_usage_settings(client, org, csm, name):
    client.force_login(csm)
    assert client.get(reverse(name, kwargs={"org_slug": org.slug})).status_code == 403


def test_write_key_command_creates_lists_and_revokes(org):
    out, err = io.StringIO(), io.StringIO()
    call_command("write_key", "create", "--org", org.slug, "--label", "Backfill script", stdout=out, stderr=err)
    plaintext = out.getvalue().strip().splitlines()[-1]
    assert plaintext.startswith("tendwk_") and "will not be shown again" in err.getvalue()
    listing = io.StringIO()
    call_command("write_key", "list", "--org", org.slug, stdout=listing)
    assert "Backfill script" in listing.getvalue() and "active" in listing.getvalue()
    call_command("write_key", "revoke", "--org", org.slug, plaintext[:11] + "…", stdout=io.StringIO())
    with scope(organization=org):
        assert WriteKey.objects.get().revoked_at is not None
    with pytest.raises(CommandError, match="No organization"):
        call_command("write_key", "list", "--org", "nope")
