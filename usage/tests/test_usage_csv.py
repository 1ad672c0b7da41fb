"""Usage CSV upload: every row checked first, all or nothing, re-uploads overwrite."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_scopes import scope

from accounts.services import account_create
from cs_platform.models import AuditEntry, OutboxMessage
from usage import csv_upload, rollups
from usage.models import AccountUsage, UsageDaily, UsageSource

UPLOAD_URL = "/o/flowfuse/settings/usage/upload/"
HEADER = "account_external_id,day,metric,value\n"
TODAY = timezone.now().date()
D1 = (TODAY - dt.timedelta(days=3)).isoformat()
D2 = (TODAY - dt.timedelta(days=2)).isoformat()


@pytest.fixture
def refreshes() -> Callable[[], list[int]]:
    """The organization ids whose account usage refresh waits in the outbox (these tests
    never commit, so nothing is sent)."""

    def waiting() -> list[int]:
        queued = OutboxMessage.objects.filter(task=rollups.refresh_account_usage.name).order_by("pk")
        return [message.args[0] for message in queued]

    return waiting


@pytest.fixture
def accounts(org):
    with scope(organization=org):
        return {
            key: account_create(organization=org, actor=None, name=name, external_ids={"product": key})
            for key, name in (("ACME-001", "Acme Corp"), ("GLOBEX-7", "Globex"))
        }


@pytest.fixture
def uploader(client, admin, accounts, refreshes):
    client.force_login(admin)
    return client


def _file(text: str | bytes, name: str = "usage.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/csv")


def _upload(client, text: str | bytes, name: str = "usage.csv"):
    return client.post(UPLOAD_URL, {"file": _file(text, name)})


def _stored(org) -> dict[tuple[str, str, str], tuple[float, str]]:
    with scope(organization=org):
        return {
            (row.account.name, row.day.isoformat(), row.metric): (row.value, row.source)
            for row in UsageDaily.objects.select_related("account")
        }


def _errors(response) -> list[str]:
    assert response.status_code == 422, response.content.decode()[:3000]
    return [str(error) for error in response.context["errors"]]


GOOD = HEADER + f"""\
ACME-001,{D1},active_users,14
ACME-001,{D1},event:Flow Deployed,3
GLOBEX-7,{D2},seats,25.5
"""


def test_upload_stores_rows_as_csv_usage_audits_and_refreshes_metrics(uploader, org, admin, refreshes):
    response = _upload(uploader, GOOD, "march.csv")

    assert response.status_code == 200
    result = response.context["result"]
    assert (result.rows, result.accounts, result.first_day.isoformat(), result.last_day.isoformat()) == (3, 2, D1, D2)
    assert b'data-testid="usage-import-result"' in response.content
    assert _stored(org) == {
        ("Acme Corp", D1, "active_users"): (14.0, UsageSource.CSV),
        ("Acme Corp", D1, "event:Flow Deployed"): (3.0, UsageSource.CSV),
        ("Globex", D2, "seats"): (25.5, UsageSource.CSV),
    }
    with scope(organization=org):
        entry = AuditEntry.objects.get(action="usage_csv.imported")
    assert entry.actor == admin
    assert entry.changes == {"file": "march.csv", "rows": 3, "accounts": 2, "first_day": D1, "last_day": D2}
    assert refreshes() == [org.id]


def test_uploaded_usage_reaches_the_accounts_metrics(client, admin, org, accounts, django_capture_on_commit_callbacks):
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        _upload(client, HEADER + f"ACME-001,{D1},logins,4\nACME-001,{D2},logins,3\n")

    with scope(organization=org):
        assert AccountUsage.objects.get(account=accounts["ACME-001"]).logins_7d == 7


def test_reupload_overwrites_values_instead_of_adding_rows(uploader, org):
    _upload(uploader, GOOD)
    corrected = GOOD.replace("active_users,14", "active_users,9")

    response = _upload(uploader, corrected)

    assert response.status_code == 200
    stored = _stored(org)
    assert len(stored) == 3
    assert stored[("Acme Corp", D1, "active_users")] == (9.0, UsageSource.CSV)


def test_headers_match_whatever_their_case_spacing_and_order(uploader, org):
    response = _upload(uploader, f" Value ,DAY,Metric,  Account_External_ID\n7,{D1},logins,ACME-001\n")

    assert response.status_code == 200
    assert _stored(org) == {("Acme Corp", D1, "logins"): (7.0, UsageSource.CSV)}


@pytest.mark.parametrize(
    ("row", "column", "value", "says"),
    [
        ("ACME-001,02/03/2026,logins,1", "day", "02/03/2026", "'02/03/2026' must be a date written YYYY-MM-DD"),
        ("ACME-001,2026-02-30,logins,1", "day", "2026-02-30", "'2026-02-30' must be a real calendar date"),
        ("ACME-001,,logins,1", "day", "", "the cell is empty; write the day as YYYY-MM-DD"),
        (f"ACME-001,{TODAY + dt.timedelta(days=2)},logins,1", "day", str(TODAY + dt.timedelta(days=2)),
         "is in the future"),
        (f"ACME-001,{D1},logins,-1", "value", "-1", "'-1' is negative; usage values must be 0 or more"),
        (f"ACME-001,{D1},logins,many", "value", "many", "'many' must be a number written in digits"),
        (f"ACME-001,{D1},logins,nan", "value", "nan", "'nan' must be a number written in digits"),
        (f"ACME-001,{D1},logins,", "value", "", "the cell is empty; write the value"),
        (f"ACME-001,{D1},,1", "metric", "", "the cell is empty; name the metric"),
        (f"ACME-001,{D1},{'m' * 201},1", "metric", "m" * 201, "is 201 characters long; at most 200 are allowed"),
        (f"ACME-001,{D1},event:,1", "metric", "event:", "'event:' names no event"),
        (f",{D1},logins,1", "account_external_id", "", "the cell is empty; every row needs the account's external id"),
        (f"NOPE-9,{D1},logins,1", "account_external_id", "NOPE-9",
         "'NOPE-9' is not the external id of an account of FlowFuse"),
    ],
)
def test_a_bad_cell_is_reported_by_row_column_and_value_and_nothing_is_written(
    uploader, org, refreshes, row, column, value, says
):
    # The bad row is the third of the file (the header is row 1), after a good one.
    response = _upload(uploader, HEADER + f"ACME-001,{D1},active_users,14\n{row}\n")

    assert len(_errors(response)) == 1, _errors(response)
    [error] = response.context["errors"]
    assert (error.row, error.column, error.value) == (3, column, value)
    assert str(error).startswith(f"row 3, column '{column}': ")
    assert says in error.message
    assert b"Nothing was imported" in response.content
    assert _stored(org) == {}
    assert refreshes() == []
    with scope(organization=org):
        assert not AuditEntry.objects.filter(action="usage_csv.imported").exists()


def test_a_row_repeated_in_the_file_is_refused(uploader, org):
    response = _upload(uploader, HEADER + f"ACME-001,{D1},logins,1\nGLOBEX-7,{D1},logins,2\nACME-001,{D1},logins,3\n")

    assert _errors(response) == [
        "row 4, column 'metric': repeats row 2 (the same account, day and metric); keep only one of the two rows"
    ]
    assert _stored(org) == {}


def test_every_unknown_account_is_listed_once_with_its_rows(uploader, org):
    rows = [f"ACME-001,{D1},logins,1"] + [f"GHOST-{n % 2},{D1},m{n},1" for n in range(10)]

    errors = _errors(_upload(uploader, HEADER + "\n".join(rows) + "\n"))

    assert errors == [
        "row 3, column 'account_external_id': 'GHOST-0' is not the external id of an account of FlowFuse "
        "(also on rows 5, 7, 9, 11); correct it, or add the id to the account first",
        "row 4, column 'account_external_id': 'GHOST-1' is not the external id of an account of FlowFuse "
        "(also on rows 6, 8, 10, 12); correct it, or add the id to the account first",
    ]
    assert _stored(org) == {}


def test_many_errors_are_capped_with_a_count_of_the_rest(uploader, org):
    rows = [f"ACME-001,{D1},m{n},-1" for n in range(60)]

    response = _upload(uploader, HEADER + "\n".join(rows) + "\n")

    assert len(_errors(response)) == csv_upload.MAX_ERRORS_SHOWN == 50
    assert response.context["error_count"] == 60
    assert "… and 10 more." in response.content.decode()
    assert _stored(org) == {}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "The file is empty"),
        (b"   \n", "The file is empty"),
        (HEADER.encode(), "The file has a header row but no rows of data"),
        ("account_external_id,day,metric,value\nACME-001,2026-01-01,Zugriffe \u00fcber API,1\n".encode("latin-1"),
         "The file is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        (f"account,day,metric,value\nACME-001,{D1},logins,1\n".encode(),
         "The header row has no 'account_external_id' column"),
        (f"account_external_id,day,metric\nACME-001,{D1},logins\n".encode(), "The header row has no 'value' column"),
        (f"account_external_id,day,metric,value,notes\nACME-001,{D1},logins,1,x\n".encode(),
         "The column 'notes' is not one Tend reads"),
        (f"account_external_id,day,Day,metric,value\nACME-001,{D1},{D1},logins,1\n".encode(),
         "The column 'day' appears twice in the header row"),
        (f"account_external_id,day,day,metric,value\nACME-001,{D1},{D1},logins,1\n".encode(),
         "The column 'day' appears twice in the header row"),
        (f'account_external_id,day,metric,value\nACME-001,{D1},"logins,1\n'.encode(), "cannot be read as CSV"),
    ],
)
def test_a_file_that_cannot_be_read_gets_a_clear_message(uploader, org, content, says):
    errors = _errors(_upload(uploader, content))

    assert any(says in error for error in errors), errors
    assert _stored(org) == {}


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(uploader, org, monkeypatch):
    monkeypatch.setattr("usage.csv_upload.MAX_BYTES", 100)

    errors = _errors(_upload(uploader, GOOD + f"ACME-001,{D2},logins,{'1' * 100}\n"))

    assert errors[0].startswith("The file is 0.0 MB; the limit is 0 MB.")


def test_submitting_without_a_file_asks_for_one(uploader):
    response = uploader.post(UPLOAD_URL, {})

    assert response.status_code == 422
    assert response.context["form"].errors["file"]


def test_the_page_explains_the_format(uploader):
    response = uploader.get(UPLOAD_URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "account_external_id,day,metric,value" in page
    for metric in ("active_users", "logins", "events", "api_calls", "features_used", "event:&lt;event name&gt;"):
        assert metric in page
    assert "overwrites" in page


def test_only_admins_may_upload(client, org, csm, accounts, refreshes):
    client.force_login(csm)

    assert client.get(UPLOAD_URL).status_code == 403
    assert _upload(client, GOOD).status_code == 403
    assert _stored(org) == {}


def test_a_member_of_another_organization_sees_nothing(client, org, stranger, accounts, refreshes):
    client.force_login(stranger)

    assert client.get(UPLOAD_URL).status_code == 404
    assert _upload(client, GOOD).status_code == 404
    assert _stored(org) == {}


def test_ids_of_another_organization_do_not_match(uploader, org, other_org):
    with scope(organization=other_org):
        account_create(organization=other_org, actor=None, name="Elsewhere's", external_ids={"product": "THEIRS-1"})

    errors = _errors(_upload(uploader, HEADER + f"THEIRS-1,{D1},logins,1\n"))

    assert "'THEIRS-1' is not the external id of an account of FlowFuse" in errors[0]


def fifty_thousand_rows_import(org, accounts: int = 50, days: int = 100, metrics: int = 10) -> tuple[int, float]:
    """Import a 50,000-row file through the service; (rows stored, seconds). Run by hand
    for the figure (the test below asserts only what was stored)."""
    with scope(organization=org):
        for n in range(accounts):
            account_create(organization=org, actor=None, name=f"Account {n}", external_ids={"product": f"A-{n}"})
        lines = [HEADER.strip()] + [
            f"A-{a},{TODAY - dt.timedelta(days=d)},metric_{m},{a + d + m}"
            for a in range(accounts) for d in range(days) for m in range(metrics)
        ]
        upload = _file("\n".join(lines) + "\n")
        started = time.perf_counter()
        result = csv_upload.usage_csv_import(organization=org, actor=None, file=upload)
        seconds = time.perf_counter() - started
        return result.rows, seconds


def test_fifty_thousand_rows_import_inline(org, refreshes):
    rows, _seconds = fifty_thousand_rows_import(org)

    assert rows == 50_000
    with scope(organization=org):
        assert UsageDaily.objects.filter(source=UsageSource.CSV).count() == 50_000


def test_a_nul_in_a_cell_is_a_row_error_and_nothing_is_written(uploader, org):
    response = _upload(uploader, HEADER + f"ACME-001,{D1},active_users,14\nACME\x00-001,{D1},logins,1\n")
    assert _errors(response) == ["row 3, column 'account_external_id': the cell contains a NUL character, which cannot be stored; remove it"]
    assert _stored(org) == {}
