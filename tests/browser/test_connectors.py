"""An admin connects Tend to the product's database in a real browser, tests the query and runs it."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django_scopes import scope
from playwright.sync_api import expect

from accounts.tests.factories import account
from cs_platform.models import Role
from usage.models import UsageConnector, UsageDaily, UsageSource
from usage.tests.test_connectors import INCREMENTAL_QUERY
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _flowfuse_admin():
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.ADMIN, email="admin@flowfuse.example")
    return org


def test_admin_creates_a_connector_tests_it_and_runs_it(page, live_server, product):
    org = _flowfuse_admin()
    with scope(organization=org):
        account(org, "Greenfield Hydroponics", external_ids={"hubspot": "C-1"})
        account(org, "Nordic Dairy", external_ids={"hubspot": "C-2"})

    sign_in(page, "admin@flowfuse.example")
    page.goto(f"{live_server.url}/o/flowfuse/settings/usage/connectors/")
    page.get_by_role("button", name="New connector").first.click()
    page.get_by_label("Name").fill("Product DB")
    page.get_by_label("Connection string").fill(product.dsn)
    page.get_by_label("SQL query").fill(INCREMENTAL_QUERY)
    page.get_by_role("button", name="Test connection").click()
    result = page.get_by_test_id("test-result")
    expect(result).to_contain_text("Connected. The query returns 4 columns")
    expect(result.get_by_role("row")).to_have_count(6)  # the header and five rows

    page.get_by_role("button", name="Create connector").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Product DB")
    expect(page.get_by_test_id("dsn-hint")).to_contain_text("dbname=product")
    page.get_by_role("button", name="Run now").click()

    run = page.get_by_test_id("run-row").first
    expect(run).to_have_attribute("data-status", "succeeded")
    expect(run.get_by_test_id("rows-read")).to_have_text("15")
    expect(run.get_by_test_id("rows-upserted")).to_have_text("9")
    expect(run.get_by_test_id("rows-unmatched")).to_have_text("6")
    expect(page.get_by_test_id("unmatched-sample")).to_contain_text(re.compile(r"C-404.*C-405"))
    with scope(organization=org):
        assert UsageDaily.objects.filter(source=UsageSource.CONNECTOR).count() == 9


def test_test_connection_against_tends_own_database_shows_the_refusal(page, live_server, product):
    org = _flowfuse_admin()
    own = settings.DATABASES["default"]
    port = int(own.get("PORT") or 5432)

    sign_in(page, "admin@flowfuse.example")
    page.goto(f"{live_server.url}/o/flowfuse/settings/usage/connectors/new/")
    page.get_by_label("Name").fill("Peek")
    page.get_by_label("Connection string").fill(f"postgresql://{own['USER']}@127.0.0.1:{port}/{own['NAME']}")
    page.get_by_label("SQL query").fill("SELECT email, password, 'm', 1 FROM cs_platform_user")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_test_id("test-result").get_by_role("alert")).to_have_text(
        f"“127.0.0.1:{port}” is Tend's own database server, which Tend never connects to: enter the address of yours."
    )
    expect(page.get_by_test_id("test-result").get_by_role("table")).to_have_count(0)

    page.get_by_role("button", name="Create connector").click()
    expect(page.get_by_text("is Tend's own database server")).to_be_visible()
    with scope(organization=org):
        assert not UsageConnector.objects.exists()
