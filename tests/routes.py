"""The organization's URLs, found by walking the URLconf, and real objects to fill their ids.

Shared by the sweeps that visit every page (tenancy, per-object tenancy, malformed input),
so a new app's views are covered by all of them at once. A URL with an id in it needs a
way to make a real object of that kind: add it to ``URL_KWARG_MAKERS`` (the sweeps say so).
"""

from __future__ import annotations

import re
from typing import Callable, Iterator

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scope, scopes_disabled

from accounts import imports
from accounts.models import Account, Contact, LifecycleStage
from accounts.services import account_create, task_create, tier_save
from api.services import api_token_create
from cs_platform.models import Invitation, Membership, Organization, Role, User
from usage.connectors.services import connector_save
from usage.services import event_definition_save, write_key_create
from tests.factories import member

SWEEP_ACCOUNT = "Sweep Account"


def _account(org: Organization) -> Account:
    # One account per organization, so nested ids (an account's contact) belong together.
    return Account.objects.filter(name=SWEEP_ACCOUNT).first() or account_create(
        organization=org, actor=None, name=SWEEP_ACCOUNT
    )


def _contact(org: Organization) -> str:
    return Contact.objects.create(organization=org, account=_account(org), name="Sweep Contact").public_id


def _connector(org: Organization) -> str:
    # Saving checks the address: a loopback one is fine only where the operator allows it.
    with override_settings(CONNECTOR_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        return connector_save(
            organization=org, actor=None, name="Sweep", dsn="postgresql://sweep@127.0.0.1:1/sweep",
            query="SELECT 'x', current_date, 'm', 1", schedule_minutes=60, enabled=True,
        ).public_id


def _task(org: Organization) -> str:
    return task_create(account=_account(org), actor=None, title="Sweep task").public_id


# kwarg name -> a function making a real object of that kind in the (active) organization.
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
    "connector": _connector,
    "definition": lambda org: event_definition_save(
        organization=org, actor=None, role="feature", event_name="Sweep Feature"
    ).public_id,
}
# URL kwargs that name a kind of thing, not one organization's object.
NOT_OBJECTS = frozenset({"org_slug", "kind"})

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _routes(patterns, prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def organization_routes() -> list[str]:
    """Every route under ``/o/<org_slug>/``, in a stable order."""
    return sorted({route for route in _routes(get_resolver().url_patterns) if "<slug:org_slug>" in route})


def route_kwargs(route: str) -> list[str]:
    """The names of a route's URL kwargs, in order."""
    return [match["name"] for match in PARAMETER.finditer(route)]


def object_kwargs(route: str) -> list[str]:
    """The kwargs of ``route`` that name one organization's object (an account, a token…)."""
    return [name for name in route_kwargs(route) if name not in NOT_OBJECTS]


def make_objects(org: Organization, names: list[str]) -> dict[str, str]:
    """A real object of ``org`` for each kwarg name, made inside its scope."""
    made = {}
    with scope(organization=org):
        for name in names:
            assert name in URL_KWARG_MAKERS, f"Teach the sweeps to make a real <{name}>: add it to tests/routes.py's URL_KWARG_MAKERS."
            made[name] = URL_KWARG_MAKERS[name](org)
    return made


def url_of(route: str, org: Organization, values: dict[str, str]) -> str:
    """``route`` under ``org``'s address with its kwargs from ``values``."""

    def fill(match: re.Match) -> str:
        name = match["name"]
        if name == "org_slug":
            return org.slug
        if name == "kind":
            return values.get(name, "accounts")
        return values[name]

    return "/" + PARAMETER.sub(fill, route)


# --- Tenant rows ---------------------------------------------------------------------------


def tenant_models() -> list[type[models.Model]]:
    """Every model with a direct ``organization`` foreign key (every tenant-owned table)."""
    found = []
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "organization"), None)
        if field is not None and field.is_relation and field.related_model is Organization:
            found.append(model)
    return found


def tenant_rows(org: Organization) -> dict[str, list[dict]]:
    """Every row ``org`` owns, table by table, as plain values (for before/after comparisons)."""
    # A test's view from above: it compares one organization's rows across all tables.
    with scopes_disabled():
        return {
            model._meta.label: list(model._base_manager.filter(organization=org).order_by("pk").values())
            for model in tenant_models()
        }


def foreign_references(org: Organization) -> list[str]:
    """Rows of ``org`` that point at another organization's rows, or at people who are not its members.

    A form or an API that trusted an id from the request would leave exactly such rows.
    """
    problems = []
    # Checks every organization's rows against each other, so it stands outside any scope.
    with scopes_disabled():
        members = set(Membership.objects.filter(organization=org).values_list("user_id", flat=True))
        for model in tenant_models():
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.name == "organization":
                    continue
                target = field.related_model
                rows = model._base_manager.filter(organization=org).exclude(**{f"{field.name}__isnull": True})
                if target is User:
                    strangers = rows.exclude(**{f"{field.name}__in": members})
                    problems += [f"{model._meta.label}.{field.name} = user {pk}" for pk in strangers.values_list(field.attname, flat=True)]
                elif target in tenant_models():
                    elsewhere = rows.exclude(**{f"{field.name}__organization": org})
                    problems += [f"{model._meta.label}.{field.name} -> {pk}" for pk in elsewhere.values_list(field.attname, flat=True)]
    return problems


def url_for_route(route: str, org: Organization) -> str:
    """``route`` as a real address in ``org``: each id made by its ``URL_KWARG_MAKERS`` entry."""
    return url_of(route, org, make_objects(org, object_kwargs(route)))
