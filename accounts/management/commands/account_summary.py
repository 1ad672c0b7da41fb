"""Print one account in seed 002's output format, one field a line."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django_scopes import scope

from accounts import selectors
from accounts.models import Account
from cs_platform.models import Organization


class Command(BaseCommand):
    help = "Print an account as CUSTOMER/TIER/HEALTH_SCORE/STAGE/LAST_CONTACT/NEXT_ACTION/PRIORITY/NOTES lines."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("account", help="The account's public id, exact name, or an external id.")

    def handle(self, *args, org: str, account: str, **options) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        with scope(organization=organization):
            matches = list(
                Account.objects.select_related("tier", "stage")
                .filter(Q(public_id=account) | Q(name__iexact=account) | Q(external_ids__external_id=account))
                .distinct()[:2]
            )
            if not matches:
                raise CommandError(f"No account {account!r} in {organization.name} (by id, name or external id).")
            if len(matches) > 1:
                raise CommandError(f"{account!r} matches several accounts; use its public id.")
            for line in selectors.account_summary(matches[0]).lines():
                self.stdout.write(line)
