"""An admin uploads product usage from CSV in a real browser: a good file lands, a bad one is refused by row."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from accounts.services import account_create
from cs_platform.models import Role
from usage.models import UsageDaily
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "account_external_id,day,metric,value\n"


def test_admin_uploads_usage_and_a_bad_file_is_refused_by_row(page, live_server, tmp_path):
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.ADMIN, email="admin@flowfuse.example")
    with scope(organization=org):
        account_create(organization=org, actor=None, name="Greenfield Hydroponics", external_ids={"product": "GH-1"})
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    good = tmp_path / "usage.csv"
    good.write_text(HEADER + f"GH-1,{yesterday},active_users,12\nGH-1,{yesterday},event:Flow Deployed,3\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"GH-1,{yesterday},logins,4\nGH-1,yesterday,logins,4\n")

    sign_in(page, "admin@flowfuse.example")
    page.goto(f"{live_server.url}/o/flowfuse/settings/usage/upload/")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload usage").click()
    expect(page.get_by_test_id("usage-import-rows")).to_have_text("2")
    expect(page.get_by_test_id("usage-import-result")).to_contain_text("for 1 account")

    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload usage").click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("Nothing was imported")
    expect(errors.get_by_role("row", name=re.compile(r"^3 day yesterday"))).to_contain_text(
        "'yesterday' must be a date written YYYY-MM-DD"
    )
    with scope(organization=org):
        assert UsageDaily.objects.count() == 2  # the good file's rows, none of the bad one's
