"""Create an organization and its first admin from the command line (self-hosting set-up)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from cs_platform import services
from cs_platform.models import User


class Command(BaseCommand):
    help = "Create an organization with its first admin (a new login is made if the e-mail has none)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--slug", required=True, help="The /o/<slug>/ part of its addresses.")
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--time-zone", default="UTC")
        parser.add_argument("--currency", default="USD")

    def handle(self, *args, name, slug, admin_email, time_zone, currency, **options) -> None:
        try:
            with transaction.atomic():
                admin = User.objects.filter(email__iexact=admin_email).first()
                created = admin is None
                if created:
                    admin = User.objects.create_user(admin_email)
                organization = services.organization_create(
                    name=name, slug=slug, creator=admin, time_zone=time_zone, currency=currency.upper()
                )
        except ValidationError as error:
            raise CommandError("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items()))
        self.stdout.write(self.style.SUCCESS(f"Created {organization.name} at /o/{organization.slug}/."))
        if created:
            uid = urlsafe_base64_encode(force_bytes(admin.pk))
            path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(admin)})
            self.stdout.write(f"{admin.email} chooses a password here (valid for a day): {settings.SITE_URL}{path}")
