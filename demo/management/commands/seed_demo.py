"""Build (or rebuild) the demo organizations and their people, then run the demo's builders."""

from __future__ import annotations

import os
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope, scopes_disabled

from cs_platform import services
from demo.builders import BUILDERS
from demo.people import DEMO_PASSWORD, DEMO_PEOPLE, MAIN_SLUG, DemoContext
from cs_platform.models import Organization, Role, User

MAIN = {"name": "FlowFuse", "slug": MAIN_SLUG, "time_zone": "Europe/Amsterdam", "currency": "USD"}
# A second, smaller organization so the switcher has somewhere to go.
SANDBOX = {"name": "Nodewave Labs", "slug": "nodewave", "time_zone": "America/New_York", "currency": "USD"}
SANDBOX_PEOPLE = [("admin@nodewave.example", "Maya Torres", Role.ADMIN)]


class Command(BaseCommand):
    help = "Replace the demo organizations (FlowFuse and Nodewave Labs) with fresh demo data."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")
        parser.add_argument(
            "--scale", type=float, default=float(os.environ.get("TEND_DEMO_SCALE", "1")),
            help="1 (or TEND_DEMO_SCALE) for the full demo; less for fewer accounts and people of the same shape.",
        )

    def handle(self, *args, seed: int, scale: float, **options) -> None:
        with transaction.atomic():
            self._remove_previous()
            people = {email: self._person(email, name) for email, name, _ in DEMO_PEOPLE + SANDBOX_PEOPLE}
            admin = people[DEMO_PEOPLE[0][0]]
            organization = services.organization_create(creator=admin, **MAIN)
            with scope(organization=organization):
                for email, _, role in DEMO_PEOPLE[1:]:
                    services.membership_add(organization=organization, user=people[email], role=role, actor=admin)
                context = DemoContext(
                    organization=organization,
                    people={email: people[email] for email, _, _ in DEMO_PEOPLE},
                    rng=random.Random(seed),
                    scale=scale,
                    log=lambda text: self.stdout.write(f"  {text}"),
                )
                for function in BUILDERS:
                    self.stdout.write(f"Seeding {function.__module__}.{function.__name__}…")
                    function(context)
            sandbox = services.organization_create(creator=people[SANDBOX_PEOPLE[0][0]], **SANDBOX)
            with scope(organization=sandbox):
                services.membership_add(organization=sandbox, user=admin, role=Role.MANAGER, actor=None)
        self.stdout.write(self.style.SUCCESS(f"Demo organizations ready. Every demo login's password: {DEMO_PASSWORD}"))

    def _remove_previous(self) -> None:
        # Deleting a tenant cascades through every app's rows: a cross-tenant job by nature.
        with scopes_disabled():
            Organization.objects.filter(slug__in=[MAIN["slug"], SANDBOX["slug"]]).delete()

    def _person(self, email: str, full_name: str) -> User:
        user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
        user.full_name = full_name
        user.last_organization = None
        user.set_password(DEMO_PASSWORD)
        user.save()
        return user
