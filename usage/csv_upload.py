"""Usage rows from a CSV file (``account_external_id,day,metric,value``), the third way
in beside the ingestion API and the connectors.

Every row is checked before anything is written, and the file is stored whole or not
at all. Re-uploading a row overwrites its value (the CSV source owns its rows), so a
corrected file can simply be uploaded again. Reading the file (size limit, UTF-8,
delimiter, quoting) and reporting errors are the accounts CSV import's.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from cs_platform import clean, outbox
from cs_platform.csv_files import MAX_BYTES, MAX_ROWS, ImportRejected, RowError, quoted, read_csv
from cs_platform.audit import audit_log
from cs_platform.models import Organization, User
from usage.models import UsageSource
from usage.rollups import refresh_account_usage
from usage.selectors import accounts_by_external_id
from usage.services import UsageRow, usage_rows_upsert

COLUMNS = ("account_external_id", "day", "metric", "value")
EXAMPLE = (
    "account_external_id,day,metric,value\n"
    "ACME-001,2026-03-02,active_users,14\n"
    "ACME-001,2026-03-02,event:Flow Deployed,3\n"
    "GLOBEX-7,2026-03-02,seats,25\n"
)
# Metric names the rollups and health measures read; any other name is kept as a custom metric.
KNOWN_METRICS = ("active_users", "logins", "events", "api_calls", "features_used")
EVENT_METRIC_PREFIX = "event:"
MAX_METRIC_LENGTH = 200
MAX_EXTERNAL_ID_LENGTH = 200
# A day's count of anything a product does; above this a value is a typo (or 1e308).
MAX_VALUE = 1e15
MAX_ERRORS_SHOWN = 50
# Days are UTC; a product a few hours ahead of UTC is already writing tomorrow's rows.
FUTURE_DAYS_ALLOWED = 1



@dataclass(frozen=True)
class UsageImportResult:
    filename: str
    rows: int
    accounts: int
    first_day: dt.date
    last_day: dt.date


def _header_key(header: str) -> str:
    # Exact names, but "Account_External_ID " is what a spreadsheet makes of them.
    return re.sub(r"\s+", "", header).casefold()


def _column_positions(headers: list[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    problems: list[str] = []
    for index, header in enumerate(headers):
        # The file reader renames a repeated header "day" to "day (3)" (its position).
        key = _header_key(re.sub(r" \(\d+\)$", "", header))
        if key in positions:
            problems.append(f"The column '{key}' appears twice in the header row; keep one of them.")
        elif key in COLUMNS:
            positions[key] = index
        else:
            problems.append(
                f"The column '{header}' is not one Tend reads; remove it, or rename it to the column it holds."
            )
    missing = [
        f"The header row has no '{name}' column; the first row must be exactly {','.join(COLUMNS)} (in any order)."
        for name in COLUMNS
        if name not in positions
    ]
    if missing or problems:
        raise ImportRejected([RowError(problem) for problem in missing + problems])
    return positions


def _day(value: str, latest: dt.date) -> dt.date:
    if not value:
        raise ValueError("is empty; write the day as YYYY-MM-DD")
    day = clean.date(value, field="")
    if day > latest:
        raise ValueError(f"is in the future; usage can be imported up to {latest:%Y-%m-%d} (UTC), correct the day")
    return day


def _value(value: str) -> float:
    if not value:
        raise ValueError("is empty; write the value, a number of 0 or more")
    if value.lstrip().startswith("-"):
        raise ValueError("is negative; usage values must be 0 or more")
    return clean.number(value, field="", minimum=0, maximum=MAX_VALUE)


def _external_id(value: str) -> str:
    if not value:
        raise ValueError("is empty; every row needs the account's external id")
    return clean.text(value, field="", max_length=MAX_EXTERNAL_ID_LENGTH)


def _metric(value: str) -> str:
    if not value:
        raise ValueError("is empty; name the metric, such as active_users or event:Flow Deployed")
    if value == EVENT_METRIC_PREFIX:
        raise ValueError("names no event; write event:<event name>, such as event:Flow Deployed")
    return clean.text(value, field="", max_length=MAX_METRIC_LENGTH)


def _cell(errors: list[RowError], number: int, column: str, text: str, parse: Callable[[str], Any]) -> Any:
    """``text`` parsed, or None with the problem added to ``errors``."""
    try:
        return parse(text)
    except ValueError as error:
        # cs_platform.clean's problems name no field here: the row error names the column.
        problem = error.problem if isinstance(error, clean.Invalid) else str(error)
        shown = f"{quoted(text)} {problem}" if text else f"the cell {problem}"
        errors.append(RowError(shown, number, column, text))
        return None


ParsedRow = tuple[int, str, dt.date, str, float]  # (row number, external id, day, metric, value)


def usage_rows_from_csv(*, file: UploadedFile, today: dt.date | None = None) -> list[ParsedRow]:
    """Every row of the file as ``(row number, external id, day, metric, value)``; nothing is looked
    up or written. Raises ``ImportRejected`` with every problem found."""
    headers, rows = read_csv(
        file, example_header="account_external_id, day, metric, value", max_bytes=MAX_BYTES, max_rows=MAX_ROWS
    )
    positions = _column_positions(headers)
    latest = (today or timezone.now().date()) + dt.timedelta(days=FUTURE_DAYS_ALLOWED)
    errors: list[RowError] = []
    parsed: list[ParsedRow] = []
    first_seen: dict[tuple[str, dt.date, str], int] = {}
    for number, cells in rows:
        external_id, day_text, metric, value_text = (cells[positions[name]] for name in COLUMNS)
        external_id = _cell(errors, number, COLUMNS[0], external_id, _external_id)
        day = _cell(errors, number, "day", day_text, lambda text: _day(text, latest))
        metric = _cell(errors, number, "metric", metric, _metric)
        value = _cell(errors, number, "value", value_text, _value)
        if not external_id or day is None or metric is None or value is None:
            continue
        key = (external_id, day, metric)
        if key in first_seen:
            errors.append(RowError(
                f"repeats row {first_seen[key]} (the same account, day and metric); keep only one of the two rows",
                number, "metric", metric,
            ))
            continue
        first_seen[key] = number
        parsed.append((number, external_id, day, metric, value))
    if errors:
        raise ImportRejected(errors)
    return parsed


def _also_on(numbers: list[int], shown: int = 5) -> str:
    if not numbers:
        return ""
    listed = ", ".join(str(number) for number in numbers[:shown])
    more = f" and {len(numbers) - shown:,} more" if len(numbers) > shown else ""
    return f" (also on row{'s' if len(numbers) > 1 else ''} {listed}{more})"


def usage_csv_import(
    *, organization: Organization, actor: User | None, file: UploadedFile, today: dt.date | None = None
) -> UsageImportResult:
    """Check every row of ``file`` and store them all as CSV usage, or none; audited.

    Raises ``ImportRejected`` listing every problem (row, column, value) when any row fails.
    """
    parsed = usage_rows_from_csv(file=file, today=today)
    account_ids = accounts_by_external_id(external_id for _, external_id, _, _, _ in parsed)
    # One error per unknown id, at its first row: a missing account must not bury the rest.
    unknown_rows: dict[str, list[int]] = {}
    for number, external_id, _, _, _ in parsed:
        if external_id not in account_ids:
            unknown_rows.setdefault(external_id, []).append(number)
    unknown = [
        RowError(
            f"{quoted(external_id)} is not the external id of an account of {organization.name}"
            f"{_also_on(numbers[1:])}; correct it, or add the id to the account first",
            numbers[0], COLUMNS[0], external_id,
        )
        for external_id, numbers in unknown_rows.items()
    ]
    if unknown:
        raise ImportRejected(unknown)
    rows: list[UsageRow] = [
        (account_ids[external_id], day, metric, value) for _, external_id, day, metric, value in parsed
    ]
    days = [day for _, day, _, _ in rows]
    result = UsageImportResult(
        filename=file.name or "usage.csv",
        rows=len(rows),
        accounts=len({account_id for account_id, _, _, _ in rows}),
        first_day=min(days),
        last_day=max(days),
    )
    with transaction.atomic():
        usage_rows_upsert(organization=organization, source=UsageSource.CSV, rows=rows)
        audit_log(
            organization=organization,
            actor=actor,
            action="usage_csv.imported",
            changes={
                "file": result.filename,
                "rows": result.rows,
                "accounts": result.accounts,
                "first_day": result.first_day.isoformat(),
                "last_day": result.last_day.isoformat(),
            },
        )
        outbox.enqueue(refresh_account_usage, organization.id)
    return result
