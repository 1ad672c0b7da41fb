"""Issue 3's flows in a real browser: handoff to CSM, working the 360 page, renewals for a manager."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from accounts import services
from accounts.models import Account, TierChange
from cs_platform.models import Role
from tests.browser.helpers import nav, sign_in, sign_out
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def flowfuse():
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    csm = member(org, Role.CSM, email="csm@flowfuse.example", full_name="Sofia Marin")
    member(org, Role.AE, email="ae@flowfuse.example", full_name="Grace Kim")
    member(org, Role.MANAGER, email="manager@flowfuse.example", full_name="Daniel Okafor")
    with scope(organization=org):
        starter = services.tier_save(organization=org, actor=None, name="Starter", position=1, csms=[csm])
        premium = services.tier_save(organization=org, actor=None, name="Premium", position=2, csms=[csm])
    return {"org": org, "csm": csm, "starter": starter, "premium": premium}


def test_ae_hands_off_and_the_csm_works_the_account(page, live_server, flowfuse):
    sign_in(page, "ae@flowfuse.example")
    nav(page, "Log a handoff").click()
    page.get_by_label("New account's name").fill("Sunrise Vertical Farms")
    page.get_by_label("Tier").select_option(label="Starter")
    page.get_by_label("ARR").fill("8,000")
    page.get_by_label("Customer goals").fill("Automate irrigation across three sites")
    page.get_by_label("Success criteria").fill("Water use down 15% by Q2")
    page.get_by_label("Champion name").fill("Ana Silva")
    page.get_by_role("button", name="Hand off to CS").click()
    expect(page.get_by_text("Sunrise Vertical Farms handed off to Sofia Marin")).to_be_visible()
    sign_out(page)

    sign_in(page, "csm@flowfuse.example")
    nav(page, "Portfolio").click()
    row = page.get_by_test_id("account-row").filter(has_text="Sunrise Vertical Farms")
    expect(row).to_contain_text("Kickoff call with Sunrise Vertical Farms")
    nav(page, "My tasks").click()
    expect(page.get_by_test_id("task-row").filter(has_text="Kickoff call with Sunrise Vertical Farms")).to_be_visible()

    page.get_by_role("link", name="Sunrise Vertical Farms").first.click()
    expect(page.get_by_test_id("summary-card")).to_contain_text("Onboarding")
    page.locator("#activity-form").get_by_label("Kind").select_option(label="Call")
    page.locator("#activity-form").get_by_label("Subject").fill("Kickoff call")
    page.locator("#activity-form").get_by_label("Notes").fill("Agreed the onboarding plan with Ana.")
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Add to timeline").click()
    expect(page.get_by_test_id("timeline-entry").first).to_contain_text("Kickoff call")
    assert page.evaluate("window.notReloaded") is True  # htmx added it in place

    page.get_by_label("Tier", exact=True).select_option(label="Premium")
    page.get_by_label("Reason").fill("Second site signed")
    page.get_by_role("button", name="Change tier").click()
    expect(page.get_by_test_id("summary-tier")).to_have_text("Premium")
    expect(page.get_by_test_id("tier-history")).to_contain_text("Starter → Premium")
    expect(page.get_by_test_id("tier-history")).to_contain_text("Second site signed")
    expect(page.get_by_test_id("summary-last-contact")).to_have_text(timezone.localdate().isoformat())
    with scope(organization=flowfuse["org"]):
        account = Account.objects.get(name="Sunrise Vertical Farms")
        assert TierChange.objects.filter(account=account, reason="Second site signed").exists()


def test_manager_filters_renewals_in_the_next_60_days(page, live_server, flowfuse):
    org, csm = flowfuse["org"], flowfuse["csm"]
    today = timezone.localdate()
    with scope(organization=org):
        for name, days in [("Soon Farms", 20), ("Later Dairy", 120), ("Edge Orchards", 59)]:
            services.account_create(
                organization=org, actor=None, name=name, owner=csm, tier=flowfuse["premium"],
                renewal_date=today + dt.timedelta(days=days),
            )
    sign_in(page, "manager@flowfuse.example")
    nav(page, "Portfolio").click()
    expect(page.get_by_test_id("account-row")).to_have_count(3)
    page.get_by_label("Renewal").select_option(label="In the next 60 days")
    expect(page.get_by_test_id("account-row")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"renewal=60"))
    expect(page.get_by_test_id("portfolio")).not_to_contain_text("Later Dairy")
    # The URL is shareable: loading it afresh gives the same list.
    page.reload()
    expect(page.get_by_test_id("account-row")).to_have_count(2)
