"""CSV import, the upload: a file parsed once and kept, with its rows and column mapping, in an
``AccountImport`` row of the organization (found by public id, so another organization's
upload is simply not found) until it is imported."""

from __future__ import annotations


from django.core.files.uploadedfile import UploadedFile

from accounts.models import (
    AccountImport,
    ImportKind,
    ImportState,
)
from accounts.imports.fields import SAMPLE_ROWS, fields_of, fold
from cs_platform import clean
from cs_platform.csv_files import MAX_BYTES, MAX_ROWS, ImportRejected, RowError, read_csv
from cs_platform.models import Organization

# --- Uploads, kept in PostgreSQL -----------------------------------------------------------


def upload_stage(*, organization: Organization, kind: str, file: UploadedFile) -> AccountImport:
    """Read an uploaded CSV file and keep its rows for the mapping step; nothing is imported."""
    if kind not in ImportKind.values:
        raise ImportRejected([RowError(f"Choose what the file holds: {clean.one_of(ImportKind.values)}.")])
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
        key = fold(header)
        guess = next((f.name for f in fields_of(kind) if f.name not in taken and key in f.header_keys), "")
        taken.add(guess)
        guesses.append(guess)
    return guesses
