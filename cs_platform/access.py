"""Role checks for organization views: who may see and do what."""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from cs_platform.models import Role

# Reading is open to every member; these capabilities are not.
CAPABILITIES: dict[str, frozenset[str]] = {
    "organization.manage": frozenset({Role.ADMIN}),
    "members.manage": frozenset({Role.ADMIN}),
    "audit.view": frozenset({Role.ADMIN}),
    "api_tokens.manage": frozenset({Role.ADMIN}),
    # Write keys, the feature list, unmatched usage, connectors and usage uploads.
    "usage.manage": frozenset({Role.ADMIN}),
    # Working accounts: notes, calls, contacts, tasks, tier and stage changes.
    "accounts.edit": frozenset({Role.ADMIN, Role.MANAGER, Role.CSM}),
    "accounts.import": frozenset({Role.ADMIN, Role.MANAGER}),
    "tasks.work": frozenset({Role.ADMIN, Role.MANAGER, Role.CSM, Role.AE}),
    "handoffs.log": frozenset({Role.ADMIN, Role.MANAGER, Role.AE}),
    "handoffs.view": frozenset({Role.ADMIN, Role.MANAGER, Role.AE}),
    "reports.view": frozenset({Role.ADMIN, Role.MANAGER}),
}


def can(request: HttpRequest, capability: str) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in CAPABILITIES[capability]


def require(capability: str) -> Callable:
    """Decorate an organization view: members without ``capability`` get 403."""
    if capability not in CAPABILITIES:
        raise KeyError(f"Unknown capability {capability!r}; add it to CAPABILITIES.")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not can(request, capability):
                raise PermissionDenied("Your role in this organization does not allow this.")
            return view(request, *args, **kwargs)

        wrapper.required_capability = capability  # type: ignore[attr-defined]
        return wrapper

    return decorator
