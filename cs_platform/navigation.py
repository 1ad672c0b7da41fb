"""The navigation, by role: each app adds its entries, the base layout shows what a member may reach."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import reverse

from cs_platform.access import can


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    # None: every member sees it; otherwise the capability it needs (see access.CAPABILITIES).
    capability: str | None = None
    section: str = "work"
    # Other (namespaced) url names under this entry, so it is highlighted on their pages too.
    also_active_for: tuple[str, ...] = ()


SECTIONS = {"work": "", "settings": "Settings"}
_ITEMS: list[NavItem] = []


def register(*items: NavItem) -> None:
    """Add entries, typically from an app's ``AppConfig.ready``."""
    _ITEMS.extend(item for item in items if item not in _ITEMS)


def navigation_for(request: HttpRequest) -> list[dict]:
    """The sections and entries this member may see, with the current page marked."""
    organization = request.organization
    current = request.resolver_match.view_name if request.resolver_match else None
    sections = []
    for section, title in SECTIONS.items():
        entries = [
            {
                "label": item.label,
                "url": reverse(item.url_name, kwargs={"org_slug": organization.slug}),
                "active": current == item.url_name or current in item.also_active_for,
            }
            for item in _ITEMS
            if item.section == section and (item.capability is None or can(request, item.capability))
        ]
        if entries:
            sections.append({"title": title, "entries": entries})
    return sections


# Where a member of each role lands in an organization (default: its overview).
_LANDING: dict[str, str] = {}


def set_landing(role: str, url_name: str) -> None:
    """Make ``url_name`` the first page a member with ``role`` sees, e.g. a CSM's portfolio."""
    _LANDING[role] = url_name


def landing_url_name(role: str) -> str:
    return _LANDING.get(role, "cs_platform:org_home")
