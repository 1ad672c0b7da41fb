"""CSV import of accounts and contacts: upload → map columns → preview → import.

An upload is parsed once and kept in PostgreSQL (``uploads``); the column mapping is
guessed from the headers and confirmed by the person importing; every row is validated
and planned before anything is written (``plan``, over the cell parsers in ``fields``);
the import writes every row or none, in one transaction (``run``); large files are
imported by a worker (``jobs``). Re-importing a file is harmless.
"""

from accounts.imports.fields import ACCOUNT_FIELDS, MAX_ERRORS_SHOWN, fields_of, template_csv
from accounts.imports.plan import Plan, plan_import
from accounts.imports.run import ImportResult, run_import
from accounts.imports.uploads import guess_columns, samples, upload_confirm_mapping, upload_discard, upload_get, upload_stage

__all__ = [
    "ACCOUNT_FIELDS", "MAX_ERRORS_SHOWN", "ImportResult", "Plan", "fields_of", "guess_columns", "plan_import",
    "run_import", "samples", "template_csv", "upload_confirm_mapping", "upload_discard", "upload_get", "upload_stage",
]
