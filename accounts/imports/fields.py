"""CSV import, the columns: how each cell of an accounts or contacts file becomes the value
stored (cell parsers), and the fields each kind of file has."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models

from accounts.models import (
    Account,
    AccountExternalId,
    Contact,
    ContactRole,
    ImportKind,
    LifecycleStage,
    Priority,
    Tier,
)
from cs_platform import clean
from cs_platform.csv_files import quoted
from cs_platform.models import Membership, Organization, User

CSV_SOURCE = "csv"
MAX_ERRORS_SHOWN = 200
PREVIEW_ROWS = 20
SAMPLE_ROWS = 5
TIER_CHANGE_REASON = "CSV import"
# Well below PostgreSQL's 65,535 bind parameters per query, whatever the file holds.
LOOKUP_CHUNK = 5_000


# --- Errors ----------------------------------------------------------------------------


class CellProblem(Exception):
    """A cell's value cannot be used; the message says why and what to write instead."""


def fold(text: str) -> str:
    """Headers and names compared loosely: "Owner e-mail" == "owner_email" == "OWNER EMAIL"."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


_one_of = clean.one_of


# --- Cell parsers: text → the value stored ----------------------------------------------


@dataclass
class Lookups:
    """What cells are checked against, loaded once per validation."""

    organization: Organization
    tiers: dict[str, Tier]
    stages: dict[str, LifecycleStage]
    members: dict[str, User]

    @classmethod
    def load(cls, organization: Organization) -> Lookups:
        return cls(
            organization=organization,
            tiers={fold(tier.name): tier for tier in Tier.objects.order_by("position", "name")},
            stages={fold(stage.name): stage for stage in LifecycleStage.objects.order_by("position", "name")},
            members={m.user.email.lower(): m.user for m in Membership.objects.select_related("user")},
        )


Parser = Callable[[str, Lookups], Any]


def _cleaned(parse: Callable[..., Any], value: str, **bounds: Any) -> Any:
    """``cs_platform.clean``'s verdict on a cell, as the problem this import reports."""
    try:
        return parse(value, field="", **bounds)
    except clean.Invalid as invalid:
        raise CellProblem(invalid.problem) from None


def _text(model: type[models.Model], field_name: str) -> Parser:
    max_length = model._meta.get_field(field_name).max_length

    def parse(value: str, lookups: Lookups) -> str:
        return _cleaned(clean.text, value, max_length=max_length)

    return parse


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def _domains(value: str, lookups: Lookups) -> list[str]:
    domains: list[str] = []
    for token in re.split(r"[\s,;]+", value.lower()):
        # People paste web addresses; the domain is what is kept.
        host = re.sub(r"^https?://", "", token).split("/")[0].removeprefix("www.")
        if not host:
            continue
        if not _DOMAIN.match(host):
            raise CellProblem(
                f"contains {quoted(token)}, which is not a domain name; "
                "write domains like example.com, separated by commas or spaces"
            )
        if host not in domains:
            domains.append(host)
    return domains


def _named(attribute: str, noun: str) -> Parser:
    """A tier or stage, by its name as configured under Settings."""

    def parse(value: str, lookups: Lookups) -> Any:
        options = getattr(lookups, attribute)
        found = options.get(fold(value))
        if found is None:
            names = _one_of(option.name for option in options.values()) if options else "none yet"
            raise CellProblem(
                f"is not a {noun} of {lookups.organization.name}; use {names} (or add the {noun} under Settings first)"
            )
        return found

    return parse


def _member(value: str, lookups: Lookups) -> User:
    user = lookups.members.get(value.lower())
    if user is None:
        raise CellProblem(
            f"is not the e-mail of a member of {lookups.organization.name}; invite them first or leave the cell empty"
        )
    return user


def _amount(value: str, lookups: Lookups) -> int:
    return _cleaned(clean.money_minor, value)


def _currency(value: str, lookups: Lookups) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise CellProblem("is not a currency code; use three letters, such as USD or EUR")
    return value.upper()


def _date(value: str, lookups: Lookups) -> dt.date:
    return _cleaned(clean.date, value)


def _choice(choices: type[models.TextChoices], noun: str, aliases: dict[str, str] | None = None) -> Parser:
    """One of ``choices``, by value ("executive_sponsor") or label ("Executive sponsor")."""
    known = {fold(value): value for value in choices.values}
    known |= {fold(str(label)): value for value, label in choices.choices}
    known |= aliases or {}

    def parse(value: str, lookups: Lookups) -> str:
        found = known.get(fold(value))
        if found is None:
            raise CellProblem(f"is not a {noun}; use {_one_of(choices.labels)}")
        return found

    return parse


_email_length = _text(Contact, "email")


def _email(value: str, lookups: Lookups) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise CellProblem("is not an e-mail address") from None
    return _email_length(value, lookups)


# --- The two kinds of file --------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """A value the import understands, and the column headers that probably hold it."""

    name: str
    label: str
    parse: Parser
    required: bool = False
    synonyms: tuple[str, ...] = ()
    example: str = ""
    hint: str = ""
    show_as: Callable[[Any], str] | None = None  # for values whose str() is not what people read

    @property
    def header_keys(self) -> set[str]:
        return {fold(self.name), fold(self.label), *map(fold, self.synonyms)}

    def show(self, value: Any) -> str:
        """A parsed value as the preview shows it: as it will be stored."""
        if self.show_as is not None:
            return self.show_as(value)
        if isinstance(value, User):
            return value.email
        if isinstance(value, list):
            return ", ".join(value)
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)


_external_id = _text(AccountExternalId, "external_id")

ACCOUNT_FIELDS = (
    Field("external_id", "External id", _external_id, required=True, example="ACME-001",
          synonyms=("id", "account id", "customer id", "company id", "key"),
          hint="Your id for the account; a re-import finds the account again by it."),
    Field("name", "Name", _text(Account, "name"), required=True, example="Acme Corp",
          synonyms=("company", "company name", "account", "account name", "customer", "customer name",
                    "organization", "organisation")),
    Field("domains", "Domains", _domains, example="acme.com acme.io", synonyms=("domain", "website", "websites", "url"),
          hint="Separated by commas or spaces."),
    Field("tier", "Tier", _named("tiers", "tier"), example="Premium", synonyms=("cohort", "segment", "plan"),
          hint="A tier's name, as under Settings."),
    Field("stage", "Stage", _named("stages", "stage"), example="Adoption", synonyms=("lifecycle stage", "lifecycle"),
          hint="A lifecycle stage's name, as under Settings."),
    Field("owner_email", "Owner e-mail", _member, example="csm@yourcompany.example",
          synonyms=("owner", "csm", "csm email", "account owner", "customer success manager"),
          hint="The CSM's e-mail; they must be a member."),
    Field("ae_email", "AE e-mail", _member, synonyms=("ae", "account executive", "sales rep"),
          hint="The account executive's e-mail; they must be a member."),
    Field("arr", "ARR", _amount, example="12500.00", synonyms=("annual recurring revenue", "revenue"),
          hint="In major units, such as 12,500.00.", show_as=lambda minor: f"{Decimal(minor) / 100:,.2f}"),
    Field("currency", "Currency", _currency, example="USD", synonyms=("ccy",), hint="Three letters, such as USD."),
    Field("contract_start", "Contract start", _date, example="2025-04-01",
          synonyms=("contract start date", "start date", "start"), hint="YYYY-MM-DD."),
    Field("renewal_date", "Renewal date", _date, example="2026-03-31",
          synonyms=("renewal", "renews on", "contract end", "end date"), hint="YYYY-MM-DD."),
    Field("priority", "Priority", _choice(Priority, "priority"), example="medium", hint=_one_of(Priority.labels) + ".",
          show_as=lambda value: Priority(value).label),
    Field("parent_external_id", "Parent external id", _external_id,
          synonyms=("parent", "parent id", "parent account id", "parent account"),
          hint="The external id of the account this one sits under, in this file or imported before."),
)

CONTACT_FIELDS = (
    Field("account_external_id", "Account external id", _external_id, required=True, example="ACME-001",
          synonyms=("account id", "company id", "customer id", "account"),
          hint="The account's external id from its CSV import."),
    Field("name", "Name", _text(Contact, "name"), required=True, example="Dana Whitfield",
          synonyms=("full name", "contact name", "contact", "person")),
    Field("email", "E-mail", _email, example="dana@acme.com", synonyms=("email address", "mail")),
    Field("phone", "Phone", _text(Contact, "phone"), synonyms=("phone number", "telephone", "mobile", "tel")),
    Field("title", "Title", _text(Contact, "title"), example="VP Operations", synonyms=("job title", "position")),
    Field("role", "Role", _choice(ContactRole, "contact role", {"sponsor": ContactRole.EXECUTIVE_SPONSOR,
                                                                "execsponsor": ContactRole.EXECUTIVE_SPONSOR}),
          example="Champion", synonyms=("contact role",), hint=_one_of(ContactRole.labels) + ".",
          show_as=lambda value: ContactRole(value).label),
    Field("external_id", "External id", _text(Contact, "external_id"), example="C-1001", synonyms=("contact id", "id"),
          hint="Your id for the person; without it they are found again by e-mail, else by name."),
)

# Fields written as they are, to the model attribute named here.
ACCOUNT_ATTRIBUTES = {
    "name": "name", "domains": "domains", "owner_email": "owner", "ae_email": "ae", "arr": "arr",
    "currency": "currency",
    "contract_start": "contract_start", "renewal_date": "renewal_date", "priority": "priority",
}
CONTACT_ATTRIBUTES = {"name": "name", "email": "email", "phone": "phone", "title": "title", "role": "role"}


def fields_of(kind: str) -> tuple[Field, ...]:
    return ACCOUNT_FIELDS if kind == ImportKind.ACCOUNTS else CONTACT_FIELDS


def noun_of(kind: str) -> str:
    return ImportKind(kind).noun


def template_csv(kind: str) -> str:
    """An example file: every column the import understands, and one row filled in."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f.label for f in fields_of(kind)])
    writer.writerow([f.example for f in fields_of(kind)])
    return out.getvalue()
