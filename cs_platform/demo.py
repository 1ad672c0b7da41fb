"""Demo data: ``seed_demo`` builds the demo organizations from seeders that apps register.

An app adds its own demo data by defining ``<app>/demo.py`` with functions decorated
``@seeder(order=N)``; each receives the ``DemoContext`` and may add to it (for example
the accounts it made) for seeders that run after it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable

from cs_platform.models import Organization, Role, User

DEMO_PASSWORD = "tend-demo-2026"

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
    # Seeders share what they made here, e.g. data["accounts"].
    data: dict[str, Any] = field(default_factory=dict)

    def people_with_role(self, role: str) -> list[User]:
        roles = {email: r for email, _, r in DEMO_PEOPLE}
        return [user for email, user in self.people.items() if roles.get(email) == role]


_SEEDERS: list[tuple[int, Callable[[DemoContext], None]]] = []


def seeder(order: int) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    def register(function: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        if all(existing is not function for _, existing in _SEEDERS):
            _SEEDERS.append((order, function))
        return function

    return register


def seeders() -> list[Callable[[DemoContext], None]]:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("demo")
    return [function for _, function in sorted(_SEEDERS, key=lambda item: item[0])]
