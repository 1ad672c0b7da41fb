"""CSV import, the plan: every row validated, and what importing would do to each (create,
update, nothing), before anything is written: the preview and the import share it.

Accounts are found again by their "csv" external id, contacts by their external id, else
by e-mail, else by name within the account; rows that change nothing write nothing. Empty
cells leave the current value as it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from accounts.models import (
    Account,
    AccountExternalId,
    AccountImport,
    Contact,
    ImportKind,
)
from accounts.imports.fields import ACCOUNT_ATTRIBUTES, CONTACT_ATTRIBUTES, CSV_SOURCE, CellProblem, Field, LOOKUP_CHUNK, Lookups, PREVIEW_ROWS, fields_of
from cs_platform.csv_files import RowError, quoted
from cs_platform.models import Organization

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
    lookups = Lookups.load(organization)
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
            except CellProblem as problem:
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


def changes_of(instance: models.Model, fields: dict[str, Any]) -> dict[str, Any]:
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

    _, loops = parents_first(rows)
    for loop in loops:
        trail = " → ".join(str(row.row) for row in [*loop, loop[0]])
        head = loop[0]
        plan.errors.append(RowError(
            f"{quoted(head.values['parent_external_id'])} makes a loop of parents (rows {trail}); "
            "an account cannot sit under itself",
            head.row, column("parent_external_id"), head.values["parent_external_id"],
        ))


def account_fields(row: PlannedRow, accounts: dict[str, Account]) -> dict[str, Any]:
    """The plain fields a row sets, by model attribute; the parent as an account if it exists yet."""
    fields = {ACCOUNT_ATTRIBUTES[name]: value for name, value in row.values.items() if name in ACCOUNT_ATTRIBUTES}
    if "parent_external_id" in row.values:
        fields["parent"] = accounts.get(row.values["parent_external_id"])
    return fields


def _account_changes(row: PlannedRow, accounts: dict[str, Account]) -> bool:
    account = row.target
    fields = account_fields(row, accounts)
    if "parent" in fields and fields["parent"] is None:
        return True  # the parent is new in this file
    moves = {name: row.values[name] for name in ("tier", "stage") if name in row.values}
    return bool(changes_of(account, fields) or changes_of(account, moves))


def parents_first(rows: list[PlannedRow]) -> tuple[list[PlannedRow], list[list[PlannedRow]]]:
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
            row.action = "update" if changes_of(row.target, contact_fields(row)) else "unchanged"
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


def contact_fields(row: PlannedRow) -> dict[str, Any]:
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
