"""Command-line tools: demo data and creating an organization."""

from __future__ import annotations

from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scope, scopes_disabled

from cs_platform.demo import DEMO_PASSWORD, DEMO_PEOPLE
from cs_platform.models import AuditEntry, Membership, Organization, Role, User


def test_seed_demo_builds_flowfuse_with_a_person_for_every_role_and_can_run_again(client, db):
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # replaces, never duplicates
    flowfuse = Organization.objects.get(slug="flowfuse")
    with scope(organization=flowfuse):
        roles = set(Membership.objects.values_list("role", flat=True))
        assert roles == set(Role.values)
        assert Membership.objects.count() == len(DEMO_PEOPLE)
        assert AuditEntry.objects.filter(action="membership.added").count() == len(DEMO_PEOPLE) - 1
    with scopes_disabled():
        assert Membership.objects.filter(user__email="admin@flowfuse.example").count() == 2  # and Nodewave Labs
    response = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": DEMO_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/o/flowfuse/accounts/"


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
