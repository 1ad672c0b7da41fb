"""A manager imports accounts from CSV in a real browser: a bad file is refused row by row, a good one lands."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accounts import services
from accounts.models import Account
from cs_platform.models import Role
from tests.browser.helpers import nav, sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "External ID,Company,Tier,ARR,Renewal date\n"


def test_bad_csv_is_refused_with_row_level_errors_and_a_good_one_imports(page, live_server, tmp_path):
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.MANAGER, email="manager@flowfuse.example")
    with scope(organization=org):
        services.tier_save(organization=org, actor=None, name="Starter")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "A-1,Greenfield Hydroponics,Starter,12000,2027-01-31\nA-2,Nordic Dairy,Platinum,5000,2026-13-01\n")
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "A-1,Greenfield Hydroponics,Starter,12000,2027-01-31\nA-2,Nordic Dairy,Starter,5000,2026-12-01\n")

    sign_in(page, "manager@flowfuse.example")
    nav(page, "Portfolio").click()
    page.get_by_role("button", name="Import").or_(page.get_by_role("link", name="Import")).first.click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Check the file").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors.get_by_role("row", name=re.compile(r"^3 Tier"))).to_contain_text("'Platinum' is not a tier")
    expect(errors.get_by_role("row", name=re.compile(r"^3 Renewal date"))).to_contain_text("'2026-13-01' must be a real calendar date")
    with scope(organization=org):
        assert not Account.objects.exists()  # nothing of a bad file is kept

    page.goto(f"{live_server.url}/o/flowfuse/accounts/import/")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload and map columns").click()
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_test_id("import-preview")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Import 2 rows")).click()
    expect(page.get_by_test_id("account-row")).to_have_count(2)
    with scope(organization=org):
        assert Account.objects.get(name="Nordic Dairy").arr == 500_000
