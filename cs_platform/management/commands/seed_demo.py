"""Build (or rebuild) the demo organizations and their people; apps add their data via seeders."""

from __future__ import annotations

import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope, scopes_disabled

from cs_platform import services
from cs_platform.demo import DEMO_PASSWORD, DEMO_PEOPLE, DemoContext, seeders
from cs_platform.models import Organization, Role, User

MAIN = {"name": "FlowFuse", "slug": "flowfuse", "time_zone": "Europe/Amsterdam", "currency": "USD"}
# A second, smaller organization so the switcher has somewhere to go.
SANDBOX = {"name": "Nodewave Labs", "slug": "nodewave", "time_zone": "America/New_York", "currency": "USD"}
SANDBOX_PEOPLE = [("admin@nodewave.example", "Maya Torres", Role.ADMIN)]


class Command(BaseCommand):
    help = "Replace the demo organizations (FlowFuse and Nodewave Labs) with fresh demo data."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed, for repeatable data.")

    def handle(self, *args, seed: int, **options) -> None:
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
                    log=lambda text: self.stdout.write(f"  {text}"),
                )
                for function in seeders():
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
