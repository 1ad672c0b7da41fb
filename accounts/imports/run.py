"""CSV import, the import itself: the plan written in one transaction, every row or none,
through the accounts services (so history, timeline and audit entries are what a person
editing by hand would leave)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import (
    AccountImport,
    ImportKind,
)
from accounts.services import account_change_stage, account_change_tier, account_create, account_update, contact_save
from accounts.imports.fields import CSV_SOURCE, TIER_CHANGE_REASON, noun_of
from accounts.imports.plan import Plan, PlannedRow, account_fields, changes_of, contact_fields, parents_first, plan_import
from cs_platform.audit import audit_log
from cs_platform.csv_files import ImportRejected, RowError, reject
from cs_platform.models import Organization, User

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
            ordered, _ = parents_first(plan.rows)
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
    fields = account_fields(row, plan.accounts)
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
        changed = changes_of(account, fields)
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
    fields = contact_fields(row)
    if row.target is None:
        contact_save(account=account, actor=actor, **{"source": CSV_SOURCE, **fields})
    elif changed := changes_of(row.target, fields):
        contact_save(account=account, actor=actor, contact=row.target, **changed)
