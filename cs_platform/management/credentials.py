"""One command shape for every per-organization credential (API tokens, write keys):

    manage.py <command> create --org <slug> --label <label>   # the secret alone on stdout
    manage.py <command> list --org <slug>
    manage.py <command> revoke --org <slug> <prefix-or-id>
"""

from __future__ import annotations

from argparse import ArgumentParser

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django_scopes import scope

from cs_platform.credentials import Credential, credential_create, credential_revoke
from cs_platform.models import Organization


class CredentialCommand(BaseCommand):
    """Subclasses give the credential's model and how people call it."""

    noun = "credential"  # "API token", "write key"
    model: type[Credential]

    @property
    def prefix_example(self) -> str:
        return self.model.MARKER + "ab12"

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help=f"Make a {self.noun} and print it, once.")
        create.add_argument("--label", required=True, help="What will use it.")
        listing = actions.add_parser("list", help=f"The organization's {self.noun}s, revoked ones included.")
        revoke = actions.add_parser("revoke", help=f"Stop a {self.noun} working.")
        revoke.add_argument("credential", help=f"Its prefix as listed ({self.prefix_example}) or its id.")
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
            row, plaintext = credential_create(self.model, organization=organization, actor=None, label=label)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        # The notice goes to stderr so that `KEY=$(manage.py … create …)` captures the secret alone.
        self.stderr.write(
            f"Created {self.noun} “{row.label}” ({row.prefix}…, id {row.public_id}) for {organization.name}. "
            "Store it now: it will not be shown again."
        )
        self.stdout.write(plaintext)

    def _list(self, organization: Organization, **options) -> None:
        rows = list(self.model.objects.all())
        if not rows:
            self.stdout.write(f"{organization.name} has no {self.noun}s.")
            return
        for row in rows:
            status = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            last_used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never"
            self.stdout.write(f"{row.prefix}…  {row.public_id}  {status:<18}  last used {last_used:<16}  {row.label}")

    def _revoke(self, organization: Organization, *, credential: str, **options) -> None:
        # The prefix as listed ends in "…"; accept it copied with or without.
        wanted = credential.strip().rstrip("…")
        matches = list(self.model.objects.filter(Q(prefix=wanted) | Q(public_id=wanted))[:2])
        if not matches:
            raise CommandError(f"{organization.name} has no {self.noun} with the prefix or id “{wanted}”.")
        if len(matches) > 1:
            raise CommandError(f"Several of {organization.name}'s {self.noun}s start “{wanted}”: give the id instead.")
        try:
            revoked = credential_revoke(matches[0], actor=None)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Revoked “{revoked.label}” ({revoked.prefix}…)."))
