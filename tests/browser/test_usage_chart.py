"""The Account 360's usage card in a real browser: the chart drawn by Chart.js from
the page's data, the numbers behind it, and the adoption list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from accounts import services
from cs_platform.models import Role
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def greenfield():
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(org, Role.CSM, email="csm@flowfuse.example", full_name="Sofia Marin")
    today = timezone.now().date()
    with scope(organization=org):
        account = services.account_create(organization=org, actor=None, name="Greenfield Hydroponics")
        features = [("Flow Deployed", "Deploy a flow"), ("Device Added", "")]
        for position, (event_name, label) in enumerate(features, start=1):
            EventDefinition.objects.create(
                organization=org, role=EventRole.FEATURE, event_name=event_name, label=label, position=position
            )

        def row(day: dt.date, metric: str, value: float) -> UsageDaily:
            return UsageDaily(organization=org, account=account, day=day, metric=metric, source="events", value=value)

        # Rows as the rollup leaves them: a month of activity, growing towards today.
        rows = [row(today - dt.timedelta(days=1), "event:Flow Deployed", 4)]
        for back in range(30):
            day = today - dt.timedelta(days=back)
            rows += [row(day, "active_users", 10 - back // 4), row(day, "events", 200 - back * 5)]
        UsageDaily.objects.bulk_create(rows)
        AccountUsage.objects.create(
            organization=org, account=account, last_seen_at=timezone.now() - dt.timedelta(hours=5),
            logins_7d=30, active_users_7d=10, api_calls_7d=120, features_used_30d=1, features_total=2,
            feature_adoption_pct=50.0, wow_change_pct=15.0, trend_4w_pct=-4.0,
        )
    return account


def test_the_usage_chart_draws_and_the_adoption_list_shows_what_is_used_and_not(page, greenfield):
    sign_in(page, "csm@flowfuse.example")

    page.goto(f"/o/flowfuse/accounts/{greenfield.public_id}/")
    card = page.get_by_test_id("usage-card")
    expect(card.get_by_test_id("usage-last-seen")).to_have_text("today")
    expect(card.get_by_test_id("usage-wow")).to_contain_text("↑ +15%")

    canvas = card.get_by_test_id("usage-chart")
    expect(canvas).to_be_visible()
    assert page.evaluate("() => !!window.Chart")
    page.wait_for_function("() => !!window.Chart.getChart(document.getElementById('usage-chart'))")
    drawn = page.evaluate(
        """() => {
            const data = Chart.getChart(document.getElementById('usage-chart')).data;
            return {
                labels: data.labels.length,
                datasets: data.datasets.map(d => d.label),
                last: data.datasets[1].data.at(-1),
            };
        }"""
    )
    assert drawn == {"labels": 90, "datasets": ["Active users", "Events"], "last": 200}
    assert canvas.bounding_box()["height"] > 100  # the chart has room, not a collapsed canvas

    # The same numbers, for anyone without the chart.
    table = card.get_by_test_id("usage-table")
    expect(table).to_be_hidden()
    card.get_by_text("Show the numbers").click()
    expect(table.locator("tbody tr").first).to_contain_text("200")

    expect(card.get_by_test_id("features-used")).to_contain_text("Deploy a flow")
    expect(card.get_by_test_id("features-not-yet-used")).to_contain_text("Device Added")
    expect(card.get_by_test_id("features-not-yet-used")).to_contain_text("Not yet used")
