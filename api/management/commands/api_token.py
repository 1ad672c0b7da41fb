"""Manage an organization's API tokens from the command line (self-hosting, automation).

    manage.py api_token create --org <slug> --label <label>   # the token alone on stdout's last line
    manage.py api_token list --org <slug>
    manage.py api_token revoke --org <slug> <prefix-or-id>
"""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django_scopes import scope

from api import services
from api.models import ApiToken
from cs_platform.models import Organization


class Command(BaseCommand):
    help = "Create, list or revoke an organization's API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="Make a token and print it, once.")
        create.add_argument("--label", required=True, help="What will use it, e.g. “Data warehouse sync”.")
        listing = actions.add_parser("list", help="The organization's tokens, revoked ones included.")
        revoke = actions.add_parser("revoke", help="Stop a token working.")
        revoke.add_argument("token", help="Its prefix as listed (tend_ab12) or its id.")
        for action in (create, listing, revoke):
            action.add_argument("--org", required=True, help="The organization's slug (its /o/<slug>/).")

    def handle(self, *args, action: str, org: str, **options) -> None:
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization has the slug “{org}”.")
        # A command runs outside any request, so it enters the organization's scope itself.
        with scope(organization=organization):
            getattr(self, f"_{action}")(organization, **options)

    def _create(self, organization: Organization, *, label: str, **options) -> None:
        try:
            token, plaintext = services.api_token_create(organization=organization, actor=None, label=label)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # The notice goes to stderr so that `TOKEN=$(manage.py api_token create …)` captures the token alone.
        self.stderr.write(
            f"Created API token “{token.label}” ({token.prefix}…, id {token.public_id}) for {organization.name}. "
            "Store it now: it will not be shown again."
        )
        self.stdout.write(plaintext)

    def _list(self, organization: Organization, **options) -> None:
        tokens = list(ApiToken.objects.all())
        if not tokens:
            self.stdout.write(f"{organization.name} has no API tokens.")
            return
        for token in tokens:
            status = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            last_used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix}…  {token.public_id}  {status:<18}  last used {last_used:<16}  {token.label}"
            )

    def _revoke(self, organization: Organization, *, token: str, **options) -> None:
        # The prefix as listed ends in "…"; accept it copied with or without.
        wanted = token.strip().rstrip("…")
        matches = list(ApiToken.objects.filter(Q(prefix=wanted) | Q(public_id=wanted))[:2])
        if not matches:
            raise CommandError(f"{organization.name} has no API token with the prefix or id “{wanted}”.")
        if len(matches) > 1:
            raise CommandError(f"Several of {organization.name}'s tokens start “{wanted}”: give the id instead.")
        try:
            revoked = services.api_token_revoke(token=matches[0], actor=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Revoked “{revoked.label}” ({revoked.prefix}…)."))
