"""Reading uploaded CSV files, and the row-numbered errors every CSV import reports.

Shared by the accounts import and the usage upload: the file is checked for size,
encoding, CSV syntax and characters no column can hold here; each importer then checks
its own columns and cells (with ``cs_platform.clean``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.files.uploadedfile import UploadedFile

from cs_platform import clean

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000


@dataclass(frozen=True)
class RowError:
    """One reason the file cannot be imported; ``row`` is None for a problem of the whole file."""

    message: str
    row: int | None = None  # as in the file: the header is row 1
    column: str = ""
    value: str = ""

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        where = f"row {self.row}, column '{self.column}'" if self.column else f"row {self.row}"
        return f"{where}: {self.message}"


class ImportRejected(Exception):
    """The file (or the mapping) cannot be imported; nothing was written."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda error: error.row or 0)
        super().__init__(str(self.errors[0]))


def quoted(value: str) -> str:
    """A cell's value quoted back in a message, cut short so the message stays a sentence."""
    return f"'{value[:60]}…'" if len(value) > 60 else f"'{value}'"


def reject(message: str) -> ImportRejected:
    return ImportRejected([RowError(message)])


def read_csv(
    file: UploadedFile, *, example_header: str, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS
) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-empty rows (with their row numbers) of an uploaded CSV file.

    ``example_header`` finishes the message for an empty first row ("such as …").
    Repeated header names are made unique (``day``, ``day (3)``), so errors can name columns.
    """
    # The size is known before reading, so a huge file is never loaded into memory.
    if file.size is not None and file.size > max_bytes:
        raise reject(
            f"The file is {file.size / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB. "
            "Split it into smaller files and import them one after the other."
        )
    raw = b"".join(file.chunks())
    if not raw.strip():
        raise reject("The file is empty. Export the sheet as CSV with a header row and at least one row of data.")
    try:
        # utf-8-sig also reads plain UTF-8, and drops the byte-order mark Excel writes.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise reject(
            f"The file is not UTF-8 text (the byte at position {error.start} is not UTF-8). "
            "Save it as “CSV UTF-8” from your spreadsheet and upload it again."
        ) from None

    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many locales write ";" (or tabs) between values, not ",".
    delimiter = max(",;\t", key=first_line.count)
    # Strict: a stray quote would otherwise swallow every row after it into one cell.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    headers: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    errors: list[RowError] = []
    number = 0  # a record is one spreadsheet row, even with a line break inside a cell
    try:
        for number, cells in enumerate(reader, start=1):
            cells = [cell.strip() for cell in cells]
            if number == 1:
                headers = _headers(cells, example_header)
                continue
            if not any(cells):
                continue
            errors.extend(_unstorable_cells(number, cells, headers))
            if any(cells[len(headers):]):
                errors.append(RowError(
                    f"has {len(cells)} values but the header names {len(headers)} columns; "
                    "put double quotes around values that contain a comma", row=number,
                ))
            rows.append((number, (cells + [""] * len(headers))[: len(headers)]))
            if len(rows) > max_rows:
                raise reject(
                    f"The file has more than {max_rows:,} rows. Split it into files of at most {max_rows:,} rows."
                )
    except csv.Error as error:
        raise reject(
            f"Row {number + 1} cannot be read as CSV ({error}). Look for a double quote that is not closed, "
            "or text right after a closing quote."
        ) from None
    if errors:
        raise ImportRejected(errors)
    if not rows:
        raise reject("The file has a header row but no rows of data.")
    return headers, rows


def _unstorable_cells(number: int, cells: list[str], headers: list[str]) -> list[RowError]:
    """Cells no column can hold (a NUL, a broken character), found before any importer reads them."""
    return [
        RowError(f"the cell {why}", row=number, column=headers[position] if position < len(headers) else "")
        for position, cell in enumerate(cells)
        if (why := clean.unstorable(cell)) is not None
    ]


def _headers(cells: list[str], example_header: str) -> list[str]:
    headers: list[str] = []
    for position, cell in enumerate(cells, start=1):
        header = cell or f"Column {position}"
        # Errors name columns by header, so two columns must not share one.
        while header in headers:
            header = f"{header} ({position})"
        headers.append(header)
    if not any(cells):
        raise reject(f"The first row is empty; it must name the columns, such as {example_header}.")
    for position, header in enumerate(headers, start=1):
        if (why := clean.unstorable(header)) is not None:
            raise reject(f"The header of column {position} {why}.")
    return headers
