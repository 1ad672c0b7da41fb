"""CSV import: upload → map → preview → import, all or nothing, and idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from accounts import imports
from accounts.imports import uploads
from accounts.models import Account, AccountExternalId, Contact, ContactRole, StageChange, TierChange
from accounts.services import account_create, account_update, tier_save
from cs_platform.models import AuditEntry, Role
from tests.factories import member

IMPORT_URL = "/o/flowfuse/accounts/import/"

ACCOUNTS_CSV = """\
Account ID,Company,Website,Tier,Stage,CSM,ARR,Currency,Contract start,Renewal date,Priority,Parent ID
A-1,Acme Corp,"acme.com, https://www.acme.io/home",Premium,Adoption,csm@flowfuse.example,"12,500.00",eur,2025-04-01,2026-03-31,High,
A-2,Acme Labs,acmelabs.com,Starter,Onboarding,,900,,,,low,A-1
A-3,Globex,,,,,,,,,,
"""

CONTACTS_CSV = """\
Account external id,Full name,Email,Phone,Job title,Role,Contact ID
A-1,Dana Whitfield,dana@acme.com,+1 555 0100,VP Operations,Executive sponsor,C-1
A-1,Sam Ortiz,sam@acme.com,,Engineer,champion,
A-2,Lee Park,,,,sponsor,
"""


@pytest.fixture
def tiers(org):
    with scope(organization=org):
        return {name: tier_save(organization=org, actor=None, name=name) for name in ("Starter", "Premium")}


@pytest.fixture
def importer(client, org, admin, csm, tiers):
    """An admin, with the tiers and the CSM the example files name."""
    client.force_login(admin)
    return client


def _file(text: str | bytes, name: str = "import.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/csv")


def _upload(client, text: str | bytes, kind: str = "accounts"):
    return client.post(IMPORT_URL, {"kind": kind, "file": _file(text)})


def _upload_id(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"].rstrip("/").rsplit("/", 1)[-1]


def _guessed(org, upload_id: str) -> dict[str, str]:
    with scope(organization=org):
        upload = imports.upload_get(organization=org, upload_id=upload_id)
    return {f"column_{i}": name for i, name in enumerate(imports.guess_columns(upload.kind, upload.headers))}


def _check(client, org, text: str | bytes, kind: str = "accounts", **columns: str):
    """Upload and post the guessed mapping (with ``columns`` overriding it); the preview or the errors."""
    upload_id = _upload_id(_upload(client, text, kind))
    response = client.post(f"{IMPORT_URL}{upload_id}/", {**_guessed(org, upload_id), **columns})
    assert response.status_code == 200
    return upload_id, response


def _import(client, org, text: str, kind: str = "accounts"):
    upload_id, preview = _check(client, org, text, kind)
    assert b"data-testid=\"import-preview\"" in preview.content, preview.content.decode()
    return client.post(f"{IMPORT_URL}{upload_id}/run/")


def _errors(response) -> str:
    assert b'data-testid="import-errors"' in response.content, response.content.decode()[:3000]
    return response.content.decode()


def _counts(org) -> dict[str, int]:
    with scope(organization=org):
        return {
            model.__name__: model.objects.count()
            for model in (Account, AccountExternalId, Contact, TierChange, StageChange, AuditEntry)
        }


def test_accounts_then_contacts_are_imported(importer, org, admin, csm, tiers):
    upload_id, preview = _check(importer, org, ACCOUNTS_CSV)
    page = preview.content.decode()
    assert "<strong>3</strong> new accounts" in page and "Import 3 rows" in page
    assert "12,500.00" in page and "acme.com, acme.io" in page  # as it will be stored

    response = importer.post(f"{IMPORT_URL}{upload_id}/run/")
    assert response.status_code == 302 and response["Location"] == "/o/flowfuse/accounts/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Imported 3 accounts from import.csv: 3 new, 0 updated, 0 unchanged."
    ]
    with scope(organization=org):
        acme = Account.objects.get(external_ids__source="csv", external_ids__external_id="A-1")
        assert acme.name == "Acme Corp"
        assert acme.domains == ["acme.com", "acme.io"]
        assert acme.tier == tiers["Premium"] and acme.stage.name == "Adoption" and acme.owner == csm
        assert acme.arr == 1_250_000 and acme.currency == "EUR"
        assert acme.contract_start == dt.date(2025, 4, 1) and acme.renewal_date == dt.date(2026, 3, 31)
        assert acme.priority == "high"
        labs = Account.objects.get(name="Acme Labs")
        assert labs.parent == acme and labs.arr == 90_000 and labs.currency == org.currency and labs.priority == "low"
        globex = Account.objects.get(name="Globex")
        assert globex.tier is None and globex.priority == "medium"  # empty cells: the defaults
        entry = AuditEntry.objects.get(action="accounts.imported")
        assert entry.actor == admin
        assert entry.changes == {"kind": "accounts", "file": "import.csv", "rows": 3, "create": 3, "update": 0, "unchanged": 0}
    # The upload is spent.
    assert importer.get(f"{IMPORT_URL}{upload_id}/").status_code == 404

    response = _import(importer, org, CONTACTS_CSV, kind="contacts")
    assert response.status_code == 302
    with scope(organization=org):
        dana = Contact.objects.get(external_id="C-1")
        assert (dana.account, dana.role, dana.source, dana.phone, dana.title) == (
            acme, ContactRole.EXECUTIVE_SPONSOR, "csv", "+1 555 0100", "VP Operations"
        )
        assert Contact.objects.get(email="sam@acme.com").role == ContactRole.CHAMPION
        assert Contact.objects.get(name="Lee Park").account == labs
        assert AuditEntry.objects.filter(action="accounts.imported", changes__kind="contacts", changes__create=3).exists()


def test_reimporting_the_same_files_changes_nothing(importer, org):
    _import(importer, org, ACCOUNTS_CSV)
    _import(importer, org, CONTACTS_CSV, kind="contacts")
    before = _counts(org)

    upload_id, preview = _check(importer, org, ACCOUNTS_CSV)
    assert "<strong>3</strong> unchanged" in preview.content.decode()
    response = importer.post(f"{IMPORT_URL}{upload_id}/run/")
    assert "0 new, 0 updated, 3 unchanged" in str(list(get_messages(response.wsgi_request))[0])
    response = _import(importer, org, CONTACTS_CSV, kind="contacts")
    assert "0 new, 0 updated, 3 unchanged" in str(list(get_messages(response.wsgi_request))[0])

    after = _counts(org)
    assert after["AuditEntry"] == before["AuditEntry"] + 2  # only the two "accounts.imported" entries
    assert {k: v for k, v in after.items() if k != "AuditEntry"} == {k: v for k, v in before.items() if k != "AuditEntry"}


def test_a_changed_tier_and_stage_are_recorded_as_moves(importer, org, tiers):
    _import(importer, org, ACCOUNTS_CSV)
    changed = ACCOUNTS_CSV.replace("A-2,Acme Labs,acmelabs.com,Starter,Onboarding", "A-2,Acme Labs Inc,acmelabs.com,Premium,Adoption")
    response = _import(importer, org, changed)
    assert "0 new, 1 updated, 2 unchanged" in str(list(get_messages(response.wsgi_request))[0])
    with scope(organization=org):
        labs = Account.objects.get(external_ids__external_id="A-2")
        assert labs.name == "Acme Labs Inc" and labs.tier == tiers["Premium"] and labs.stage.name == "Adoption"
        move = TierChange.objects.filter(account=labs).first()
        assert (move.from_tier, move.to_tier, move.reason) == (tiers["Starter"], tiers["Premium"], "CSV import")
        assert StageChange.objects.filter(account=labs, to_stage__name="Adoption").exists()


def test_an_account_made_elsewhere_is_updated_by_its_csv_external_id(importer, org, tiers):
    with scope(organization=org):
        account_create(organization=org, actor=None, name="Old name", tier=tiers["Premium"], external_ids={"csv": "A-3"})
    _import(importer, org, ACCOUNTS_CSV)
    with scope(organization=org):
        assert Account.objects.filter(external_ids__external_id="A-3").get().name == "Globex"
        assert Account.objects.count() == 3


def test_a_bad_file_is_rejected_with_every_error_and_nothing_is_written(importer, org, tiers):
    _import(importer, org, ACCOUNTS_CSV)
    before = _counts(org)
    bad = """\
External id,Name,Tier,Renewal date,ARR,Owner
A-1,Acme Renamed,Premium,2026-03-31,100,
A-9,New Co,Premium,2026-04-01,200,
A-10,,Gold,2026-13-01,"12.500,00",nobody@example.com
"""
    upload_id, response = _check(importer, org, bad)
    page = _errors(response)
    assert "these 5 problems" in page
    assert "the cell is empty, but Name is required in every row" in page
    assert "&#x27;Gold&#x27; is not a tier of FlowFuse; use Starter or Premium (or add the tier under Settings first)" in page
    assert "&#x27;2026-13-01&#x27; must be a real calendar date, written YYYY-MM-DD" in page
    assert "&#x27;12.500,00&#x27; must be written in major units" in page
    assert "is not the e-mail of a member of FlowFuse" in page
    # The mapping was not confirmed: running it now is refused, and writes nothing.
    refused = importer.post(f"{IMPORT_URL}{upload_id}/run/")
    assert refused["Location"] == f"{IMPORT_URL}{upload_id}/"
    assert _counts(org) == before
    with scope(organization=org):
        assert Account.objects.filter(name="Acme Corp").exists()


def test_errors_name_row_column_value_and_the_fix(importer, org):
    text = 'External id,Name,Renewal date\nA-1,"Acme\nCorp",2026-03-31\n\nA-7,Zeta,2026-13-01\n'
    with scope(organization=org):
        upload = imports.upload_stage(organization=org, kind="accounts", file=_file(text))
        plan = imports.plan_import(organization=org, upload=upload, columns=["external_id", "name", "renewal_date"])
    # Row numbers are a spreadsheet's: the header is row 1, a cell with a line break stays
    # in its row, the blank line is row 3.
    assert [str(error) for error in plan.errors] == [
        "row 4, column 'Renewal date': '2026-13-01' must be a real calendar date, written YYYY-MM-DD"
    ]
    assert (plan.errors[0].row, plan.errors[0].column, plan.errors[0].value) == (4, "Renewal date", "2026-13-01")


ACCOUNT_CELL_ERRORS = [
    ("Renewal date", "31/03/2026", "'31/03/2026' must be a date written YYYY-MM-DD"),
    ("Contract start", "2026-02-30", "'2026-02-30' must be a real calendar date, written YYYY-MM-DD"),
    ("ARR", "12.500,00", "'12.500,00' must be written in major units, such as 12500"),
    ("ARR", "-5", "'-5' cannot be negative"),
    ("Currency", "Euro", "'Euro' is not a currency code; use three letters, such as USD or EUR"),
    ("Tier", "Platinum", "'Platinum' is not a tier of FlowFuse; use Starter or Premium"),
    ("Stage", "Dormant", "'Dormant' is not a stage of FlowFuse; use Onboarding, Adoption"),
    ("Owner email", "stranger@elsewhere.example", "is not the e-mail of a member of FlowFuse; invite them first"),
    ("AE email", "nobody", "'nobody' is not the e-mail of a member of FlowFuse"),
    ("Priority", "critical", "'critical' is not a priority; use Low, Medium, High or Urgent"),
    ("Domains", "acme.com, acme!", "contains 'acme!', which is not a domain name"),
    ("Name", "x" * 201, "is 201 characters long; at most 200 are allowed"),
    ("Parent external id", "Z-404", "'Z-404' matches no account in this file or imported before"),
    ("Parent external id", "A-1", "'A-1' is the account's own external id; an account cannot be its own parent"),
]


@pytest.mark.parametrize(("column", "value", "message"), ACCOUNT_CELL_ERRORS)
def test_each_kind_of_account_cell_error(importer, org, column, value, message):
    text = f"External id,Name,{column}\nA-1,Acme,\"{value}\"\n" if column != "Name" else f"External id,Name\nA-1,{value}\n"
    upload_id, response = _check(importer, org, text)
    with scope(organization=org):
        upload = imports.upload_get(organization=org, upload_id=upload_id)
        plan = imports.plan_import(organization=org, upload=upload, columns=imports.guess_columns("accounts", upload.headers))
    assert len(plan.errors) == 1, plan.errors
    error = plan.errors[0]
    assert (error.row, error.column) == (2, column)
    assert message in error.message
    assert "Nothing was imported" in _errors(response)


def test_rows_that_contradict_each_other(importer, org):
    text = """\
External id,Name,Parent
A-1,Acme,A-3
A-2,Beta,
A-3,Gamma,A-1
A-2,Beta again,
"""
    with scope(organization=org):
        upload = imports.upload_stage(organization=org, kind="accounts", file=_file(text))
        plan = imports.plan_import(organization=org, upload=upload, columns=["external_id", "name", "parent_external_id"])
    assert [str(e) for e in plan.errors] == [
        "row 2, column 'Parent': 'A-3' makes a loop of parents (rows 2 → 4 → 2); an account cannot sit under itself",
        "row 5, column 'External id': 'A-2' is also the external id of row 3; each account may appear only once in a file, "
        "so remove or merge one of the two rows",
    ]


def test_a_failure_only_the_services_see_rolls_back_every_row(importer, org):
    with scope(organization=org):
        top = account_create(organization=org, actor=None, name="Top", external_ids={"csv": "TOP"})
        under = account_create(organization=org, actor=None, name="Under", external_ids={"csv": "UNDER"})
        account_update(account=under, actor=None, parent=top)
    before = _counts(org)
    # A new account first, then a loop through accounts outside the file.
    response = _import(importer, org, "External id,Name,Parent\nNEW-1,Fresh,\nTOP,Top,UNDER\n")
    assert response.status_code == 200
    assert "<tr><td>3</td><td>—</td><td>An account cannot sit under itself or one of its own children.</td></tr>" in _errors(response)
    assert _counts(org) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The file is empty."),
        ("External id,Name\n", "The file has a header row but no rows of data."),
        (",,\nA-1,Acme,\n", "The first row is empty; it must name the columns"),
        ("External id,Name\nA-1,Acme, Inc,x\n", "<td>2</td><td>—</td><td>has 4 values but the header names 2 columns; put double quotes around values that contain a comma"),
        ('External id,Name\nA-1,Acme\nA-2,"Beta\nA-3,Gamma\n', "Row 3 cannot be read as CSV (unexpected end of data). Look for a double quote that is not closed"),
        ('External id,Name\nA-1,"Acme" Corp\n', "Row 2 cannot be read as CSV"),
        ("Name\u00e9\nAcme\n".encode("latin-1"), "The file is not UTF-8 text (the byte at position 4 is not UTF-8). Save it as “CSV UTF-8”"),
    ],
)
def test_files_that_cannot_be_read_are_refused_at_upload(importer, org, text, message):
    response = _upload(importer, text)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Nothing was imported" in response.content.decode()


def test_files_over_the_limits_are_refused(importer, org, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ROWS", 2)
    response = _upload(importer, "External id,Name\nA-1,a\nA-2,b\nA-3,c\n")
    assert "The file has more than 2 rows. Split it into files of at most 2 rows." in response.content.decode()
    monkeypatch.setattr(uploads, "MAX_BYTES", 1024 * 1024)
    response = _upload(importer, "External id,Name\n" + "A-1,Acme\n" * 200_000)
    assert "The file is 1.7 MB; the limit is 1 MB. Split it into smaller files" in response.content.decode()


def test_mapping_must_name_each_required_field_once(importer, org):
    _, response = _check(importer, org, "External id,Company,Name\nA-1,Acme,Acme Corp\n", column_0="", column_2="name")
    page = _errors(response)
    assert "No column is mapped to External id, which every account needs; choose the column that holds it." in page
    assert "Columns &#x27;Company&#x27; and &#x27;Name&#x27; are both mapped to Name; choose one of them." in page


def test_headers_are_guessed_loosely():
    headers = ["ID", "Company", "ARR", "CSM", "Renewal", "Owner e-mail", "LIFECYCLE STAGE", "Notes"]
    assert imports.guess_columns("accounts", headers) == [
        "external_id", "name", "arr", "owner_email", "renewal_date", "", "stage", ""
    ]
    assert imports.guess_columns("contacts", ["Account ID", "Contact", "E-mail Address", "Type"]) == [
        "account_external_id", "name", "email", ""
    ]


def test_the_mapping_page_shows_guesses_and_first_rows(importer, org):
    upload_id = _upload_id(_upload(importer, ACCOUNTS_CSV))
    page = importer.get(f"{IMPORT_URL}{upload_id}/").content.decode()
    assert '<option value="name" selected>Name (required)</option>' in page  # from "Company"
    assert '<option value="owner_email" selected>Owner e-mail</option>' in page  # from "CSM"
    assert "Acme Corp · Acme Labs · Globex" in page
    assert "Nothing was imported" not in page and "Ready to import" not in page


def test_semicolons_and_a_byte_order_mark_are_read(importer, org):
    text = "\ufeffExternal id;Name;ARR\nA-1;Acme;12,500.50\n"
    _import(importer, org, text)
    with scope(organization=org):
        assert Account.objects.get(name="Acme").arr == 1_250_050


def test_contacts_are_found_again_without_external_ids(importer, org):
    _import(importer, org, ACCOUNTS_CSV)
    with scope(organization=org):
        acme = Account.objects.get(name="Acme Corp")
        existing = Contact.objects.create(organization=org, account=acme, name="Dana W.", email="DANA@acme.com")
    _import(importer, org, CONTACTS_CSV, kind="contacts")
    with scope(organization=org):
        existing.refresh_from_db()
        # Adopted by e-mail: the external id is now hers, and she is not duplicated.
        assert (existing.name, existing.external_id, existing.source) == ("Dana Whitfield", "C-1", "csv")
        assert Contact.objects.filter(account=acme).count() == 2


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("Z-9,Pat,,", "Account", "'Z-9' matches no account imported from CSV; import the accounts first"),
        ("A-1,Pat,not-an-email,", "Email", "'not-an-email' is not an e-mail address"),
        ("A-1,Pat,,boss", "Role", "'boss' is not a contact role; use Champion, Executive sponsor, Admin, User or Billing"),
        ("A-1,,,", "Name", "the cell is empty, but Name is required in every row"),
    ],
)
def test_each_kind_of_contact_cell_error(importer, org, row, column, message):
    _import(importer, org, ACCOUNTS_CSV)
    with scope(organization=org):
        upload = imports.upload_stage(organization=org, kind="contacts", file=_file(f"Account,Name,Email,Role\n{row}\n"))
        plan = imports.plan_import(organization=org, upload=upload, columns=imports.guess_columns("contacts", upload.headers))
    assert [(e.row, e.column) for e in plan.errors] == [(2, column)]
    assert message in plan.errors[0].message


def test_contact_rows_naming_one_person_twice(importer, org):
    _import(importer, org, ACCOUNTS_CSV)
    text = "Account,Name,Email,Contact ID\nA-1,Dana,dana@acme.com,\nA-1,Dana W,DANA@acme.com,\nA-2,Kim,,C-7\nA-1,Kim,,C-7\n"
    with scope(organization=org):
        upload = imports.upload_stage(organization=org, kind="contacts", file=_file(text))
        plan = imports.plan_import(organization=org, upload=upload, columns=imports.guess_columns("contacts", upload.headers))
    assert [str(e) for e in plan.errors] == [
        "row 3, column 'Email': 'DANA@acme.com' is also the e-mail of row 2 at the same account; "
        "each person may appear only once, so remove or merge one of the two rows",
        "row 5, column 'Contact ID': 'C-7' is also the external id of row 4; "
        "each person may appear only once, so remove or merge one of the two rows",
    ]


def test_a_contact_cannot_move_between_accounts(importer, org):
    _import(importer, org, ACCOUNTS_CSV)
    _import(importer, org, CONTACTS_CSV, kind="contacts")
    upload_id, response = _check(importer, org, "Account,Name,Contact ID\nA-3,Dana Whitfield,C-1\n", kind="contacts")
    assert "is the external id of Dana Whitfield at another account; a contact cannot move between accounts by import" in _errors(response)


def test_only_admins_and_managers_import(client, org, viewer, csm, admin):
    manager = member(org, Role.MANAGER)
    for person in (viewer, csm):
        client.force_login(person)
        assert client.get(IMPORT_URL).status_code == 403
        assert _upload(client, ACCOUNTS_CSV).status_code == 403
    client.force_login(admin)
    upload_id = _upload_id(_upload(client, ACCOUNTS_CSV))
    client.force_login(viewer)
    assert client.get(f"{IMPORT_URL}{upload_id}/").status_code == 403
    assert client.post(f"{IMPORT_URL}{upload_id}/run/").status_code == 403
    client.force_login(manager)
    assert client.get(IMPORT_URL).status_code == 200
    assert client.get(f"{IMPORT_URL}{upload_id}/").status_code == 200


def test_another_organizations_upload_is_not_found(client, org, other_org, admin, stranger):
    with scope(organization=other_org):
        theirs = imports.upload_stage(organization=other_org, kind="accounts", file=_file(ACCOUNTS_CSV))
    client.force_login(admin)
    assert client.get(f"{IMPORT_URL}{theirs.public_id}/").status_code == 404
    assert client.post(f"{IMPORT_URL}{theirs.public_id}/run/").status_code == 404
    assert client.get(f"{IMPORT_URL}not-an-upload/").status_code == 404


def test_the_upload_page_and_example_files(importer, org):
    page = importer.get(IMPORT_URL).content.decode()
    assert "Upload and map columns" in page and "/o/flowfuse/accounts/import/template/contacts.csv" in page
    example = importer.get(f"{IMPORT_URL}template/accounts.csv")
    assert example["Content-Type"] == "text/csv; charset=utf-8"
    header = example.content.decode().splitlines()[0]
    assert header.startswith("External id,Name,Domains,Tier,Stage,Owner e-mail")
    # Every example header is guessed back to its field.
    assert imports.guess_columns("accounts", header.split(",")) == [f.name for f in imports.ACCOUNT_FIELDS]
    assert importer.get(f"{IMPORT_URL}template/invoices.csv").status_code == 404


def test_a_large_import_runs_in_a_worker_and_reports_on_its_status_page(
    importer, org, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_IMPORT_INLINE_ROWS = 2  # ACCOUNTS_CSV has 3 rows: too many to run inline
    upload_id, _ = _check(importer, org, ACCOUNTS_CSV)
    with django_capture_on_commit_callbacks(execute=True):
        response = importer.post(f"{IMPORT_URL}{upload_id}/run/")
    status_url = f"{IMPORT_URL}{upload_id}/status/"
    assert response["Location"] == status_url
    page = importer.get(status_url).content.decode()
    assert "Imported 3 accounts" in page and "3 new" in page
    assert _counts(org)["Account"] == 3
    # Submitting again (back button, double click) imports nothing twice.
    assert importer.post(f"{IMPORT_URL}{upload_id}/run/")["Location"] == status_url
    assert _counts(org)["Account"] == 3


def test_a_background_import_that_fails_keeps_nothing_and_says_why(
    importer, org, tiers, settings, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_IMPORT_INLINE_ROWS = 2
    upload_id, _ = _check(importer, org, ACCOUNTS_CSV)
    with scope(organization=org):
        tiers["Premium"].delete()  # changed after the preview, before the worker ran
    with django_capture_on_commit_callbacks(execute=True):
        importer.post(f"{IMPORT_URL}{upload_id}/run/")
    page = importer.get(f"{IMPORT_URL}{upload_id}/status/", HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<div id="import-status"') and "hx-trigger" not in page  # polling stops
    assert "Nothing was imported" in page and "Premium" in page
    assert _counts(org)["Account"] == 0


def test_a_nul_in_a_cell_is_a_row_error_naming_the_cell_and_nothing_is_written(importer, org):
    before = _counts(org)
    response = _upload(importer, "External id,Name\nA-1,Acme\nA-2\x00,Globex\n")
    assert response.status_code == 200
    assert "<tr><td>3</td><td>External id</td><td>the cell contains a NUL character, which cannot be stored" in _errors(response)
    assert _counts(org) == before
