"""The demo's people, its password and the context every builder receives and adds to."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from cs_platform.models import Organization, Role, User

DEMO_PASSWORD = "tend-demo-2026"
MAIN_SLUG = "flowfuse"

# Seed 001's company: its cohorts, in the order customers are meant to move through them.
DEMO_COHORTS = ["Trial", "Starter", "Premium", "Enterprise"]

# (e-mail, full name, role) in the main demo organization.
DEMO_PEOPLE = [
    ("admin@flowfuse.example", "Priya Shah", Role.ADMIN),
    ("manager@flowfuse.example", "Daniel Okafor", Role.MANAGER),
    ("csm@flowfuse.example", "Sofia Marin", Role.CSM),
    ("csm2@flowfuse.example", "Tom Becker", Role.CSM),
    ("ae@flowfuse.example", "Grace Kim", Role.AE),
    ("viewer@flowfuse.example", "Lars Jensen", Role.VIEWER),
]


@dataclass
class DemoContext:
    organization: Organization
    people: dict[str, User]  # by e-mail
    rng: random.Random
    log: Callable[[str], None]
    cohorts: list[str] = field(default_factory=lambda: list(DEMO_COHORTS))
    # 1 is the full demo; less gives fewer accounts and people of the same shape (for tests).
    scale: float = 1.0
    # Builders share what they made here, e.g. data["accounts"].
    data: dict[str, Any] = field(default_factory=dict)

    def people_with_role(self, role: str) -> list[User]:
        roles = {email: r for email, _, r in DEMO_PEOPLE}
        return [user for email, user in self.people.items() if roles.get(email) == role]


def demo_logins() -> list[str]:
    """The demo's logins for ``serve``'s banner, when the demo organization exists."""
    from django_scopes import scopes_disabled

    # Whether the demo was seeded: a question about the installation, not about one tenant.
    with scopes_disabled():
        if not Organization.objects.filter(slug=MAIN_SLUG).exists():
            return []
    width = max(len(email) for email, _, _ in DEMO_PEOPLE)
    return [
        f"  Demo logins (password for all: {DEMO_PASSWORD}):",
        *(f"    {email.ljust(width)}  {role.label:<18} {name}" for email, name, role in DEMO_PEOPLE),
        "    admin@flowfuse.example is also in a second organization, Nodewave Labs.",
    ]
