"""CSV import of accounts and contacts: upload → map columns → preview → import.

An upload is parsed once and its rows are kept in an ``AccountImport`` row of the
organization (found by public id, so another organization's upload is simply not found)
until it is imported; large files are imported by a worker (``accounts.import_jobs``).
The column mapping is guessed from the headers and confirmed by the person importing.
Every row is validated before anything is written, and the import writes every row or
none (one transaction).

Re-importing a file is harmless: accounts are found again by their "csv" external id,
contacts by their external id, else by e-mail, else by name within the account; rows
that change nothing write nothing. Empty cells leave the current value as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import models, transaction

from accounts.models import (
    Account,
    AccountExternalId,
    AccountImport,
    Contact,
    ContactRole,
    ImportKind,
    ImportState,
    LifecycleStage,
    Priority,
    Tier,
)
from accounts.services import account_change_stage, account_change_tier, account_create, account_update, contact_save
from cs_platform import clean
from cs_platform.audit import audit_log
from cs_platform.csv_files import MAX_BYTES, MAX_ROWS, ImportRejected, RowError, quoted, read_csv, reject
from cs_platform.models import Membership, Organization, User

CSV_SOURCE = "csv"
MAX_ERRORS_SHOWN = 200
PREVIEW_ROWS = 20
SAMPLE_ROWS = 5
TIER_CHANGE_REASON = "CSV import"
# Well below PostgreSQL's 65,535 bind parameters per query, whatever the file holds.
LOOKUP_CHUNK = 5_000


# --- Errors ----------------------------------------------------------------------------


class _Problem(Exception):
    """A cell's value cannot be used; the message says why and what to write instead."""


def _fold(text: str) -> str:
    """Headers and names compared loosely: "Owner e-mail" == "owner_email" == "OWNER EMAIL"."""
    return re.sub(r"[^0-9a-z]", "", text.casefold())


_one_of = clean.one_of


# --- Cell parsers: text → the value stored ----------------------------------------------


@dataclass
class _Lookups:
    """What cells are checked against, loaded once per validation."""

    organization: Organization
    tiers: dict[str, Tier]
    stages: dict[str, LifecycleStage]
    members: dict[str, User]

    @classmethod
    def load(cls, organization: Organization) -> _Lookups:
        return cls(
            organization=organization,
            tiers={_fold(tier.name): tier for tier in Tier.objects.order_by("position", "name")},
            stages={_fold(stage.name): stage for stage in LifecycleStage.objects.order_by("position", "name")},
            members={m.user.email.lower(): m.user for m in Membership.objects.select_related("user")},
        )


Parser = Callable[[str, _Lookups], Any]


def _cleaned(parse: Callable[..., Any], value: str, **bounds: Any) -> Any:
    """``cs_platform.clean``'s verdict on a cell, as the problem this import reports."""
    try:
        return parse(value, field="", **bounds)
    except clean.Invalid as invalid:
        raise _Problem(invalid.problem) from None


def _text(model: type[models.Model], field_name: str) -> Parser:
    max_length = model._meta.get_field(field_name).max_length

    def parse(value: str, lookups: _Lookups) -> str:
        return _cleaned(clean.text, value, max_length=max_length)

    return parse


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def _domains(value: str, lookups: _Lookups) -> list[str]:
    domains: list[str] = []
    for token in re.split(r"[\s,;]+", value.lower()):
        # People paste web addresses; the domain is what is kept.
        host = re.sub(r"^https?://", "", token).split("/")[0].removeprefix("www.")
        if not host:
            continue
        if not _DOMAIN.match(host):
            raise _Problem(
                f"contains {quoted(token)}, which is not a domain name; "
                "write domains like example.com, separated by commas or spaces"
            )
        if host not in domains:
            domains.append(host)
    return domains


def _named(attribute: str, noun: str) -> Parser:
    """A tier or stage, by its name as configured under Settings."""

    def parse(value: str, lookups: _Lookups) -> Any:
        options = getattr(lookups, attribute)
        found = options.get(_fold(value))
        if found is None:
            names = _one_of(option.name for option in options.values()) if options else "none yet"
            raise _Problem(
                f"is not a {noun} of {lookups.organization.name}; use {names} (or add the {noun} under Settings first)"
            )
        return found

    return parse


def _member(value: str, lookups: _Lookups) -> User:
    user = lookups.members.get(value.lower())
    if user is None:
        raise _Problem(
            f"is not the e-mail of a member of {lookups.organization.name}; invite them first or leave the cell empty"
        )
    return user


def _amount(value: str, lookups: _Lookups) -> int:
    return _cleaned(clean.money_minor, value)


def _currency(value: str, lookups: _Lookups) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", value):
        raise _Problem("is not a currency code; use three letters, such as USD or EUR")
    return value.upper()


def _date(value: str, lookups: _Lookups) -> dt.date:
    return _cleaned(clean.date, value)


def _choice(choices: type[models.TextChoices], noun: str, aliases: dict[str, str] | None = None) -> Parser:
    """One of ``choices``, by value ("executive_sponsor") or label ("Executive sponsor")."""
    known = {_fold(value): value for value in choices.values}
    known |= {_fold(str(label)): value for value, label in choices.choices}
    known |= aliases or {}

    def parse(value: str, lookups: _Lookups) -> str:
        found = known.get(_fold(value))
        if found is None:
            raise _Problem(f"is not a {noun}; use {_one_of(choices.labels)}")
        return found

    return parse


_email_length = _text(Contact, "email")


def _email(value: str, lookups: _Lookups) -> str:
    try:
        validate_email(value)
    except ValidationError:
        raise _Problem("is not an e-mail address") from None
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
        return {_fold(self.name), _fold(self.label), *map(_fold, self.synonyms)}

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


# --- Uploads, kept in PostgreSQL -----------------------------------------------------------


def upload_stage(*, organization: Organization, kind: str, file: UploadedFile) -> AccountImport:
    """Read an uploaded CSV file and keep its rows for the mapping step; nothing is imported."""
    if kind not in ImportKind.values:
        raise ImportRejected([RowError(f"Choose what the file holds: {_one_of(ImportKind.values)}.")])
    headers, rows = read_csv(file, example_header="External id, Name", max_bytes=MAX_BYTES, max_rows=MAX_ROWS)
    return AccountImport.objects.create(
        organization=organization, kind=kind, filename=(file.name or "upload.csv")[:255], headers=headers,
        rows=rows, row_count=len(rows),
    )


def upload_get(*, organization: Organization, upload_id: str, with_rows: bool = True) -> AccountImport | None:
    """The organization's upload, or None: imported and cleared, never made, or another organization's.

    ``with_rows=False`` leaves the rows (up to ``MAX_ROWS`` of them) in the database, for
    pages that show only where an import stands.
    """
    uploads = AccountImport.objects.filter(organization=organization, public_id=upload_id)
    return (uploads if with_rows else uploads.defer("rows")).first()


def upload_discard(*, upload: AccountImport) -> None:
    upload.delete()


def upload_confirm_mapping(*, upload: AccountImport, columns: list[str]) -> bool:
    """Remember the mapping that passed validation; the import uses it and no other.

    Only while the upload is still being mapped: once queued, its mapping is what the
    worker runs. False when it is no longer staged.
    """
    updated = AccountImport.objects.filter(pk=upload.pk, state=ImportState.STAGED).update(columns=columns)
    if updated:
        upload.columns = columns
    return bool(updated)


def samples(upload: AccountImport, index: int) -> list[str]:
    """The first few values of column ``index``, as the mapping page shows them."""
    return [cells[index] for _, cells in upload.rows[:SAMPLE_ROWS]]


def guess_columns(kind: str, headers: list[str]) -> list[str]:
    """For each column, the field its header most likely means ("" for none); each field once."""
    taken: set[str] = set()
    guesses = []
    for header in headers:
        key = _fold(header)
        guess = next((f.name for f in fields_of(kind) if f.name not in taken and key in f.header_keys), "")
        taken.add(guess)
        guesses.append(guess)
    return guesses


# --- Validation: the plan of what an import would do ------------------------------------


@dataclass
class PlannedRow:
    row: int
    values: dict[str, Any]  # field name → parsed value, for the cells that are not empty
    target: Account | Contact | None = None  # the existing row it updates
    action: str = "create"  # "create", "update" or "unchanged"


@dataclass
class Plan:
    fields: list[Field]  # the mapped ones, in the import's order
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # Accounts by "csv" external id: those the rows update and those they name as parent or account.
    accounts: dict[str, Account] = field(default_factory=dict)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.count(action) for action in ("create", "update", "unchanged")}

    @property
    def preview(self) -> list[tuple[PlannedRow, list[str]]]:
        return [
            (row, [f.show(row.values[f.name]) if f.name in row.values else "" for f in self.fields])
            for row in self.rows[:PREVIEW_ROWS]
        ]


def plan_import(*, organization: Organization, upload: AccountImport, columns: list[str]) -> Plan:
    """Check every row against ``columns`` (one field name or "" per file column); write nothing."""
    mapping, errors = _mapping(upload, columns)
    plan = Plan(fields=[f for f in fields_of(upload.kind) if f.name in mapping], errors=errors)
    if errors:
        return plan
    lookups = _Lookups.load(organization)
    for number, cells in upload.rows:
        values = {}
        for f in plan.fields:
            index = mapping[f.name]
            value = cells[index]
            if not value:
                if f.required:
                    plan.errors.append(RowError(
                        f"the cell is empty, but {f.label} is required in every row", number, upload.headers[index]
                    ))
                continue
            try:
                values[f.name] = f.parse(value, lookups)
            except _Problem as problem:
                plan.errors.append(RowError(f"{quoted(value)} {problem}", number, upload.headers[index], value))
        plan.rows.append(PlannedRow(row=number, values=values))

    def column(name: str) -> str:
        return upload.headers[mapping[name]]

    if upload.kind == ImportKind.ACCOUNTS:
        _plan_accounts(plan, column)
    else:
        _plan_contacts(plan, column)
    plan.errors.sort(key=lambda error: error.row or 0)
    return plan


def _mapping(upload: AccountImport, columns: list[str]) -> tuple[dict[str, int], list[RowError]]:
    fields = fields_of(upload.kind)
    known = {f.name for f in fields}
    mapping: dict[str, int] = {}
    errors = []
    for index, (header, name) in enumerate(zip(upload.headers, columns)):
        if not name:
            continue
        if name not in known:
            errors.append(RowError(f"Column '{header}' is mapped to something the import does not know; choose again."))
        elif name in mapping:
            label = next(f.label for f in fields if f.name == name)
            errors.append(RowError(
                f"Columns '{upload.headers[mapping[name]]}' and '{header}' are both mapped to {label}; choose one of them."
            ))
        else:
            mapping[name] = index
    for f in fields:
        if f.required and f.name not in mapping:
            errors.append(RowError(
                f"No column is mapped to {f.label}, which every {upload.noun} needs; choose the column that holds it."
            ))
    return mapping, errors


def _chunked(keys: Iterable[Any]) -> Iterator[list[Any]]:
    keys = list(keys)
    for start in range(0, len(keys), LOOKUP_CHUNK):
        yield keys[start : start + LOOKUP_CHUNK]


def _accounts_by_external_id(keys: set[str]) -> dict[str, Account]:
    found = {}
    for chunk in _chunked(keys):
        for row in AccountExternalId.objects.filter(source=CSV_SOURCE, external_id__in=chunk).select_related("account"):
            found[row.external_id] = row.account
    return found


def _changes(instance: models.Model, fields: dict[str, Any]) -> dict[str, Any]:
    """The ``fields`` whose value differs from ``instance``'s (foreign keys compared by id)."""
    changed = {}
    for name, value in fields.items():
        model_field = instance._meta.get_field(name)
        if model_field.is_relation:
            differs = getattr(instance, model_field.attname) != (value.pk if value is not None else None)
        else:
            differs = getattr(instance, name) != value
        if differs:
            changed[name] = value
    return changed


def _duplicates(rows: Iterable[tuple[PlannedRow, Any]]) -> Iterator[tuple[PlannedRow, PlannedRow]]:
    """Pairs (first row, later row) sharing an identity; rows whose identity is None never clash."""
    first: dict[Any, PlannedRow] = {}
    for row, identity in rows:
        if identity is None:
            continue
        if identity in first:
            yield first[identity], row
        else:
            first[identity] = row


def _plan_accounts(plan: Plan, column: Callable[[str], str]) -> None:
    rows = [row for row in plan.rows if "external_id" in row.values]
    for first, again in _duplicates((row, row.values["external_id"]) for row in rows):
        key = again.values["external_id"]
        plan.errors.append(RowError(
            f"{quoted(key)} is also the external id of row {first.row}; each account may appear only once in a file, "
            "so remove or merge one of the two rows", again.row, column("external_id"), key,
        ))
    in_file = {row.values["external_id"] for row in rows}
    parents = {row.values["parent_external_id"] for row in rows if "parent_external_id" in row.values}
    plan.accounts = _accounts_by_external_id(in_file | parents)

    for row in rows:
        key, parent = row.values["external_id"], row.values.get("parent_external_id")
        if parent == key:
            plan.errors.append(RowError(
                f"{quoted(parent)} is the account's own external id; an account cannot be its own parent",
                row.row, column("parent_external_id"), parent,
            ))
        elif parent is not None and parent not in in_file and parent not in plan.accounts:
            plan.errors.append(RowError(
                f"{quoted(parent)} matches no account in this file or imported before; "
                "check the id or leave the cell empty",
                row.row, column("parent_external_id"), parent,
            ))
        row.target = plan.accounts.get(key)
        if row.target is not None:
            row.action = "update" if _account_changes(row, plan.accounts) else "unchanged"

    _, loops = _parents_first(rows)
    for loop in loops:
        trail = " → ".join(str(row.row) for row in [*loop, loop[0]])
        head = loop[0]
        plan.errors.append(RowError(
            f"{quoted(head.values['parent_external_id'])} makes a loop of parents (rows {trail}); "
            "an account cannot sit under itself",
            head.row, column("parent_external_id"), head.values["parent_external_id"],
        ))


def _account_fields(row: PlannedRow, accounts: dict[str, Account]) -> dict[str, Any]:
    """The plain fields a row sets, by model attribute; the parent as an account if it exists yet."""
    fields = {ACCOUNT_ATTRIBUTES[name]: value for name, value in row.values.items() if name in ACCOUNT_ATTRIBUTES}
    if "parent_external_id" in row.values:
        fields["parent"] = accounts.get(row.values["parent_external_id"])
    return fields


def _account_changes(row: PlannedRow, accounts: dict[str, Account]) -> bool:
    account = row.target
    fields = _account_fields(row, accounts)
    if "parent" in fields and fields["parent"] is None:
        return True  # the parent is new in this file
    moves = {name: row.values[name] for name in ("tier", "stage") if name in row.values}
    return bool(_changes(account, fields) or _changes(account, moves))


def _parents_first(rows: list[PlannedRow]) -> tuple[list[PlannedRow], list[list[PlannedRow]]]:
    """The rows ordered so a parent in the file is written before its children, and any loops of parents."""
    by_key = {row.values["external_id"]: row for row in reversed(rows)}  # the first row of a key wins
    parent_of = {
        key: row.values["parent_external_id"]
        for key, row in by_key.items()
        if row.values.get("parent_external_id") in by_key and row.values["parent_external_id"] != key
    }
    ordered: list[PlannedRow] = []
    loops: list[list[PlannedRow]] = []
    done: set[str] = set()
    for row in rows:
        # Walk up to the first ancestor already written (or outside the file), then write downwards.
        chain: list[str] = []
        on_chain: set[str] = set()
        node: str | None = row.values["external_id"]
        while node is not None and node not in done:
            if node in on_chain:
                loops.append([by_key[key] for key in chain[chain.index(node):]])
                break
            chain.append(node)
            on_chain.add(node)
            node = parent_of.get(node)
        for key in reversed(chain):
            done.add(key)
            ordered.append(by_key[key])
    return ordered, loops


def _plan_contacts(plan: Plan, column: Callable[[str], str]) -> None:
    rows = [row for row in plan.rows if "account_external_id" in row.values and "name" in row.values]
    plan.accounts = _accounts_by_external_id({row.values["account_external_id"] for row in rows})
    for row in rows:
        key = row.values["account_external_id"]
        if key not in plan.accounts:
            plan.errors.append(RowError(
                f"{quoted(key)} matches no account imported from CSV; import the accounts first, or correct the id",
                row.row, column("account_external_id"), key,
            ))
    rows = [row for row in rows if row.values["account_external_id"] in plan.accounts]

    repeated = set()
    for first, again in _duplicates((row, _contact_identity(row)) for row in rows):
        how = _contact_identity(again)[0]
        what = {"external_id": "external id", "email": "e-mail", "name": "name"}[how]
        # External ids are unique in the organization; e-mails and names only within an account.
        where = "" if how == "external_id" else " at the same account"
        plan.errors.append(RowError(
            f"{quoted(again.values[how])} is also the {what} of row {first.row}{where}; "
            "each person may appear only once, so remove or merge one of the two rows",
            again.row, column(how), again.values[how],
        ))
        repeated.add(again.row)

    existing = _existing_contacts(rows, plan.accounts)
    for row in rows:
        account = plan.accounts[row.values["account_external_id"]]
        row.target = existing.find(row, account)
        if row.target is not None and row.target.account_id != account.pk:
            plan.errors.append(RowError(
                f"{quoted(row.values['external_id'])} is the external id of {row.target.name} at another account; "
                "a contact cannot move between accounts by import",
                row.row, column("external_id"), row.values["external_id"],
            ))
        elif row.target is not None:
            row.action = "update" if _changes(row.target, _contact_fields(row)) else "unchanged"
    # Different keys can still find the same person (an e-mail here, an external id there).
    matched = ((row, row.target.pk if row.target else None) for row in rows if row.row not in repeated)
    for first, again in _duplicates(matched):
        plan.errors.append(RowError(
            f"matches the same existing contact ({again.target.name}) as row {first.row}; "
            "each person may appear only once, so remove or merge one of the two rows", again.row,
        ))


def _contact_identity(row: PlannedRow) -> tuple[str, ...]:
    """Who a row is, for finding duplicates in the file: the same rule that finds existing contacts."""
    values = row.values
    if "external_id" in values:
        return ("external_id", values["external_id"])
    if "email" in values:
        return ("email", values["account_external_id"], values["email"].lower())
    return ("name", values["account_external_id"], values["name"].casefold())


def _contact_fields(row: PlannedRow) -> dict[str, Any]:
    fields = {CONTACT_ATTRIBUTES[name]: value for name, value in row.values.items() if name in CONTACT_ATTRIBUTES}
    if "external_id" in row.values:
        fields |= {"external_id": row.values["external_id"], "source": CSV_SOURCE}
    return fields


@dataclass
class _ExistingContacts:
    by_external_id: dict[str, Contact]
    by_account: dict[int, list[Contact]]

    def find(self, row: PlannedRow, account: Account) -> Contact | None:
        """By external id; else by e-mail, else by name, within the account.

        A row with an external id only adopts a contact that has none yet, so it never
        takes over a person another key already stands for.
        """
        key = row.values.get("external_id")
        if key is not None and key in self.by_external_id:
            return self.by_external_id[key]
        candidates = [c for c in self.by_account.get(account.pk, []) if key is None or not c.external_id]
        email, name = row.values.get("email", "").lower(), row.values["name"].casefold()
        if email:
            return next((c for c in candidates if c.email.lower() == email), None)
        return next((c for c in candidates if c.name.casefold() == name), None)


def _existing_contacts(rows: list[PlannedRow], accounts: dict[str, Account]) -> _ExistingContacts:
    keys = {row.values["external_id"] for row in rows if "external_id" in row.values}
    by_external_id = {}
    for chunk in _chunked(keys):
        for contact in Contact.objects.filter(source=CSV_SOURCE, external_id__in=chunk):
            by_external_id[contact.external_id] = contact
    by_account: dict[int, list[Contact]] = {}
    for chunk in _chunked({account.pk for account in accounts.values()}):
        for contact in Contact.objects.filter(account_id__in=chunk).order_by("id"):
            by_account.setdefault(contact.account_id, []).append(contact)
    return _ExistingContacts(by_external_id, by_account)


# --- The import --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    kind: str
    filename: str
    created: int
    updated: int
    unchanged: int

    @property
    def summary(self) -> str:
        total = self.created + self.updated + self.unchanged
        return (
            f"Imported {total} {noun_of(self.kind)}{'s' if total != 1 else ''} from {self.filename}: "
            f"{self.created} new, {self.updated} updated, {self.unchanged} unchanged."
        )


def run_import(*, organization: Organization, actor: User | None, upload: AccountImport) -> ImportResult:
    """Write every row of a confirmed upload, or none: the rows are checked again first,
    since tiers, members or accounts may have changed since the preview."""
    if upload.columns is None:
        raise reject("Check the column mapping first; the import uses the mapping its preview showed.")
    with transaction.atomic():
        plan = plan_import(organization=organization, upload=upload, columns=upload.columns)
        if plan.errors:
            raise ImportRejected(plan.errors)
        if upload.kind == ImportKind.ACCOUNTS:
            ordered, _ = _parents_first(plan.rows)
            write = _write_account
        else:
            ordered, write = plan.rows, _write_contact
        for row in ordered:
            try:
                write(row, plan=plan, organization=organization, actor=actor)
            except ValidationError as error:
                # A rule only the services know (a parent loop through accounts not in the file, …).
                raise ImportRejected([RowError(" ".join(error.messages), row.row)]) from None
        counts = plan.counts
        audit_log(
            organization=organization,
            actor=actor,
            action="accounts.imported",
            changes={"kind": upload.kind, "file": upload.filename, "rows": len(plan.rows), **counts},
        )
    return ImportResult(upload.kind, upload.filename, counts["create"], counts["update"], counts["unchanged"])


def _write_account(row: PlannedRow, *, plan: Plan, organization: Organization, actor: User | None) -> None:
    values = row.values
    fields = _account_fields(row, plan.accounts)
    account = row.target
    if account is None:
        # account_create starts every account in the organization's currency.
        currency = fields.pop("currency", None)
        account = account_create(
            organization=organization, actor=actor, tier=values.get("tier"), stage=values.get("stage"),
            external_ids={CSV_SOURCE: values["external_id"]}, **fields,
        )
        if currency is not None and currency != account.currency:
            account_update(account=account, actor=actor, currency=currency)
    else:
        changed = _changes(account, fields)
        if changed:
            account_update(account=account, actor=actor, **changed)
        if "tier" in values:
            account_change_tier(account=account, actor=actor, tier=values["tier"], reason=TIER_CHANGE_REASON)
        if "stage" in values:
            account_change_stage(account=account, actor=actor, stage=values["stage"])
    # Children later in the order find their parent here.
    plan.accounts[values["external_id"]] = account


def _write_contact(row: PlannedRow, *, plan: Plan, organization: Organization, actor: User | None) -> None:
    account = plan.accounts[row.values["account_external_id"]]
    fields = _contact_fields(row)
    if row.target is None:
        contact_save(account=account, actor=actor, **{"source": CSV_SOURCE, **fields})
    elif changed := _changes(row.target, fields):
        contact_save(account=account, actor=actor, contact=row.target, **changed)
