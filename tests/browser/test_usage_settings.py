"""An admin's usage settings in a real browser: the feature list, and mapping unmatched usage."""

from __future__ import annotations

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accounts import services
from cs_platform.models import Role
from usage.ingest.store import ingest_segment
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_defines_a_feature_and_maps_an_unknown_team(page):
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.ADMIN, email="admin@flowfuse.example", full_name="Priya Shah")
    with scope(organization=org):
        services.account_create(organization=org, actor=None, name="Nordic Dairy")
        ingest_segment(org, [
            {"type": "track", "userId": "u1", "event": "Flow Deployed", "messageId": f"m{n}", "context": {"groupId": "team-nd"}}
            for n in range(3)
        ])
    sign_in(page, "admin@flowfuse.example")

    page.get_by_role("link", name="Features & events").click()
    page.get_by_label("Event name").fill("Flow Deployed")
    page.get_by_label("Label").fill("Deploy flows")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_test_id("definitions-feature")).to_contain_text("Deploy flows")

    page.get_by_role("link", name="Usage data").click()
    expect(page.get_by_test_id("unmatched-banner")).to_be_visible()
    page.get_by_role("link", name="map them to accounts").click()
    row = page.get_by_test_id("unmatched-row").filter(has_text="team-nd")
    expect(row).to_contain_text("3")
    row.get_by_label("Account for team-nd").fill("Nordic Dairy")
    row.get_by_role("button", name="Map").click()
    expect(page.get_by_text("3 past events count from the next rollup")).to_be_visible()
    expect(page.get_by_test_id("unmatched-row")).to_have_count(0)
