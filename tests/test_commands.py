"""Command-line tools: creating an organization (the demo's are tested in ``demo/tests``)."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope

from cs_platform.models import Membership, Organization, Role, User


def test_create_organization_makes_its_first_admin_with_a_link_to_set_a_password(client, db):
    out = StringIO()
    call_command(
        "create_organization", "--name", "Acme Robotics", "--slug", "acme", "--admin-email", "Ops@Acme.example",
        "--currency", "eur", stdout=out,
    )
    organization = Organization.objects.get(slug="acme")
    assert organization.currency == "EUR"
    user = User.objects.get(email="ops@acme.example")
    with scope(organization=organization):
        assert Membership.objects.get(user=user).role == Role.ADMIN
    link = out.getvalue().split("here (valid for a day): ")[1].strip()
    assert "/auth/reset/" in link
    assert b"Choose a new password" in client.get(urlsplit(link).path, follow=True).content


def test_create_organization_explains_a_bad_slug(db):
    with pytest.raises(CommandError, match="slug"):
        call_command("create_organization", "--name", "X", "--slug", "Not A Slug!", "--admin-email", "x@example.com")
    assert not Organization.objects.exists()
