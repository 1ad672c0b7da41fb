"""Every URL under /o/<org_slug>/, found by walking the URLconf, with real objects for its ids.

Shared by the sweeps that visit every organization page (tenancy, never a 5xx). A URL
with an id in it needs a way to make a real one in the organization: add it to
``URL_KWARG_MAKERS`` (the sweeps say so).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

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
    ).id,
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


def url_for_route(route: str, org: Organization) -> str:
    """``route`` as a real address in ``org``: each id made by its ``URL_KWARG_MAKERS`` entry."""

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name == "org_slug":
            return org.slug
        assert name in URL_KWARG_MAKERS, f"Teach the sweeps to make a real <{name}>: add it to tests/routes.py's URL_KWARG_MAKERS."
        with scope(organization=org):
            return URL_KWARG_MAKERS[name](org)

    return "/" + _PARAMETER.sub(fill, route)
