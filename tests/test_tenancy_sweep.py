"""Every URL under /o/<org_slug>/, found by walking the URLconf, is closed to strangers.

New apps' views are swept automatically. A URL with an id in it needs a way to make
a real one in the organization: add it to ``URL_KWARG_MAKERS`` (the test says so).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope

from accounts import imports
from accounts.models import Account, Contact, LifecycleStage
from accounts.services import account_create, task_create, tier_save
from api.services import api_token_create
from cs_platform.models import Invitation, Membership, Organization, Role
from integrations.connectors import connector_save
from integrations.services import event_definition_save, write_key_create
from tests.factories import member

def _account(org: Organization) -> Account:
    # One account per test, so nested ids (an account's contact) belong together.
    return Account.objects.filter(name="Sweep Account").first() or account_create(
        organization=org, actor=None, name="Sweep Account"
    )


def _contact(org: Organization) -> str:
    return Contact.objects.create(organization=org, account=_account(org), name="Sweep Contact").public_id


def _task(org: Organization) -> str:
    return task_create(account=_account(org), actor=None, title="Sweep task").public_id


# kwarg name -> a function making a real object of that kind in the organization.
# Makers of nested objects (a contact, a task) hang them on the same sweep account.
URL_KWARG_MAKERS: dict[str, Callable[[Organization], str]] = {
    "account": lambda org: _account(org).public_id,
    "contact": _contact,
    "task": _task,
    "tier": lambda org: tier_save(organization=org, actor=None, name="Sweep Tier").public_id,
    "stage": lambda org: LifecycleStage.objects.first().public_id,
    "member": lambda org: Membership.objects.get(user=member(org, Role.CSM)).public_id,
    "invitation": lambda org: Invitation.objects.create(
        organization=org, email="invitee@example.com", role=Role.CSM, token_hash=f"sweep-{org.pk}"
    ).public_id,
    "upload": lambda org: imports.upload_stage(
        organization=org, kind="accounts", file=SimpleUploadedFile("sweep.csv", b"External id,Name\nSWEEP-1,Sweep Account\n")
    ).public_id,
    "kind": lambda org: "accounts",
    "token": lambda org: api_token_create(organization=org, actor=None, label="sweep")[0].public_id,
    "key": lambda org: write_key_create(organization=org, actor=None, label="sweep")[0].public_id,
    "connector": lambda org: connector_save(
        organization=org, actor=None, name="Sweep", dsn="postgresql://sweep@127.0.0.1:1/sweep",
        query="SELECT 'x', current_date, 'm', 1", schedule_minutes=60, enabled=True,
    ).public_id,
    "definition": lambda org: event_definition_save(
        organization=org, actor=None, role="feature", event_name="Sweep Feature"
    ).public_id,
}

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(patterns, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def organization_routes() -> list[str]:
    return sorted({route for route in _routes(get_resolver().url_patterns) if "<slug:org_slug>" in route})


def test_the_sweep_finds_the_organization_pages():
    routes = organization_routes()
    assert "o/<slug:org_slug>/" in routes
    assert "o/<slug:org_slug>/settings/members/<str:member>/role/" in routes


@pytest.mark.parametrize("route", organization_routes())
def test_organization_url_is_closed_to_strangers_and_anonymous(route, client, org, admin, stranger):
    def fill(match: re.Match) -> str:
        name = match["name"]
        if name == "org_slug":
            return org.slug
        assert name in URL_KWARG_MAKERS, f"Teach the tenancy sweep to make a real <{name}>: add it to URL_KWARG_MAKERS."
        with scope(organization=org):
            return URL_KWARG_MAKERS[name](org)

    url = "/" + _PARAMETER.sub(fill, route)

    anonymous_get = client.get(url)
    assert anonymous_get.status_code == 302 and anonymous_get["Location"].startswith("/auth/login/"), url

    client.force_login(stranger)
    assert client.get(url).status_code == 404, f"{url} answered a member of another organization"
    assert client.post(url).status_code == 404, f"{url} took a POST from a member of another organization"

    # The same URL works for a member: the 404 above is tenancy, not a bad test URL.
    client.force_login(admin)
    assert client.get(url).status_code in {200, 302, 405}, url
