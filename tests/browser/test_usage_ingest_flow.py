"""The issue's story end to end: an admin makes a write key in the browser, the real Segment
client sends with it, and the account's usage chart moves once the rollup has run."""

from __future__ import annotations

import pytest
from django_scopes import scope
from playwright.sync_api import expect

from accounts import services
from accounts.models import AccountExternalId
from cs_platform.models import Role
from usage.rollups import rollup_usage
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_key_to_segment_client_to_usage_chart(page, live_server):
    from segment.analytics.client import Client

    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.ADMIN, email="admin@flowfuse.example", full_name="Priya Shah")
    with scope(organization=org):
        account = services.account_create(organization=org, actor=None, name="Greenfield Hydroponics")
        AccountExternalId.objects.create(organization=org, account=account, source="product", external_id="gf-1")

    sign_in(page, "admin@flowfuse.example")
    page.goto(f"/o/flowfuse/accounts/{account.public_id}/")
    expect(page.get_by_test_id("usage-card")).to_contain_text("No product usage yet")
    page.get_by_role("button", name="Set up usage data").click()
    page.get_by_label("Label").fill("Greenfield web app")
    page.get_by_role("button", name="Create write key").click()
    write_key = page.get_by_test_id("write-key-plaintext").inner_text().strip()
    expect(page.get_by_test_id("segment-example")).to_contain_text(write_key)

    failures = []
    client = Client(
        write_key=write_key, host=live_server.url, max_retries=0,
        on_error=lambda error, batch: failures.append(error),
    )
    client.identify("grower-1", {"email": "ana@greenfield.example", "name": "Ana Grower"})
    client.group("grower-1", "gf-1")
    for _ in range(4):
        client.track("grower-1", "Flow Deployed")
    client.flush()
    client.shutdown()
    assert failures == []
    rollup_usage.apply(args=[org.id])  # what beat runs every minute

    page.goto(f"/o/flowfuse/accounts/{account.public_id}/")
    card = page.get_by_test_id("usage-card")
    expect(card.get_by_test_id("usage-last-seen")).to_have_text("today")
    expect(card.get_by_test_id("usage-wau")).to_contain_text("1")
    page.wait_for_function("() => window.Chart && !!window.Chart.getChart(document.getElementById('usage-chart'))")
    last_events = page.evaluate(
        "() => Chart.getChart(document.getElementById('usage-chart')).data.datasets[1].data.at(-1)"
    )
    assert last_events == 4
    # The person the product identified is now a contact of the account.
    expect(page.locator("li strong", has_text="Ana Grower")).to_be_visible()
