"""Per-organization secrets that machines present: API tokens and usage write keys.

Each is shown once when made and stored only as its SHA-256; a short prefix stays in
the clear so people can tell them apart. Concrete models subclass ``Credential`` and
say their marker, the name of their hash column, and how they are called.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import ClassVar, TypeVar

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils import timezone

from cs_platform.audit import audit_log
from cs_platform.models import Organization, User
from cs_platform.selectors import token_hash
from cs_platform.tenancy import TenantModel

# last_used_at is for people judging whether a credential is still in use: minute
# precision is plenty, and it spares a write on every request of a busy client.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Credential(TenantModel):
    MARKER: ClassVar[str]  # how every secret of the kind starts, e.g. "tend_"
    HASH_FIELD: ClassVar[str]  # the unique column holding the SHA-256
    NOUN: ClassVar[str]  # in messages: "token", "write key"
    AUDIT_NAME: ClassVar[str]  # audit actions are "<AUDIT_NAME>.created" / ".revoked"
    SECRET_BYTES: ClassVar[int] = 32

    label = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        abstract = True

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def prefix_length(cls) -> int:
        # The marker plus a few random characters: enough to tell them apart on screen,
        # far too few to guess the rest.
        return len(cls.MARKER) + 4


Kind = TypeVar("Kind", bound=Credential)


def credential_kinds() -> list[type[Credential]]:
    """Every concrete kind of credential the installed apps define (once their models are loaded)."""
    kinds, todo = [], list(Credential.__subclasses__())
    while todo:
        kind = todo.pop()
        todo.extend(kind.__subclasses__())
        if not kind._meta.abstract:
            kinds.append(kind)
    return kinds


@transaction.atomic
def credential_create(
    model: type[Kind], *, organization: Organization, actor: User | None, label: str
) -> tuple[Kind, str]:
    """A new credential of ``model``; returns the row and the secret, to be shown once."""
    plaintext = model.MARKER + secrets.token_urlsafe(model.SECRET_BYTES)
    row = model(
        organization=organization,
        label=label.strip(),
        prefix=plaintext[: model.prefix_length()],
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **{model.HASH_FIELD: token_hash(plaintext)},
    )
    row.full_clean(exclude=["organization", "created_by"])
    row.save()
    audit_log(
        organization=organization, actor=actor, action=f"{model.AUDIT_NAME}.created", target=row,
        changes={"label": row.label, "prefix": row.prefix},
    )
    return row, plaintext


@transaction.atomic
def credential_revoke(row: Kind, *, actor: User | None) -> Kind:
    """Refuse ``row`` from its next use on; the row stays for the record."""
    # Locked, so two people revoking at once record one revocation, not two.
    stored = type(row).objects.select_for_update().get(pk=row.pk)
    if stored.revoked_at is not None:
        raise ValidationError(f"The {row.NOUN} “{stored.label}” was already revoked on {stored.revoked_at:%Y-%m-%d}.")
    stored.revoked_at = row.revoked_at = timezone.now()
    stored.save(update_fields=["revoked_at"])
    audit_log(
        organization=stored.organization, actor=actor, action=f"{row.AUDIT_NAME}.revoked", target=stored,
        changes={"label": stored.label, "prefix": stored.prefix},
    )
    return stored


def record_use(row: Credential) -> None:
    """Move ``last_used_at`` on, at most once per ``LAST_USED_RESOLUTION``."""
    now = timezone.now()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional, so of concurrent requests only one writes; the rest match no row.
    type(row).objects.filter(pk=row.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    row.last_used_at = now  # a cached row too, so the next minute's requests skip this


# --- The settings page that makes them -------------------------------------------------


def credential_page(
    request: HttpRequest, *, model: type[Credential], form_class: type[forms.Form], template: str, context: dict
) -> HttpResponse:
    """A settings page listing credentials, whose form (a ``label``) makes a new one.

    A new secret is shown on the response to the POST that made it and nowhere else:
    only its hash is stored, and it is never put in the session. The template gets
    ``form`` and ``created`` (``{"row", "plaintext"}`` after a successful POST).
    """
    form = form_class(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            row, plaintext = credential_create(
                model, organization=request.organization, actor=request.user, label=form.cleaned_data["label"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            created = {"row": row, "plaintext": plaintext}
            form = form_class()
    response = render(request, template, {"form": form, "created": created, **context})
    if created:
        # The page holds a secret: keep it out of caches and the browser's back button.
        add_never_cache_headers(response)
    return response
