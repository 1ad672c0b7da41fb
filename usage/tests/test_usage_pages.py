"""Usage shown to people: the reads behind the Account 360's usage card, the card
itself (metrics, chart data, adoption list, empty state) and the portfolio's last seen."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from accounts.tests.factories import account
from usage import card
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily, UsageSource

TODAY = dt.date(2026, 3, 31)


def daily(account_row, day: dt.date, metric: str, value: float, source: str = UsageSource.EVENTS, source_ref: str = ""):
    # Rows as the rollup, a CSV or a connector would leave them (the rollup is not under test here).
    return UsageDaily.objects.create(
        organization_id=account_row.organization_id, account=account_row, day=day, metric=metric,
        source=source, source_ref=source_ref, value=value,
    )


def feature(org, event_name: str, position: int, role: str = EventRole.FEATURE, **fields) -> EventDefinition:
    return EventDefinition.objects.create(organization=org, role=role, event_name=event_name, position=position, **fields)


def metrics(account_row, **fields) -> AccountUsage:
    values = {
        "last_seen_at": timezone.now() - dt.timedelta(days=3, hours=2),
        "logins_7d": 41, "active_users_7d": 12, "seats": 20, "wau_per_seat": 0.6,
        "events_7d": 900, "events_prev_7d": 800, "api_calls_7d": 1500,
        "features_used_30d": 1, "features_total": 3, "feature_adoption_pct": 33.3,
        "wow_change_pct": 12.5, "trend_4w_pct": -8.0,
    }
    values.update(fields)
    return AccountUsage.objects.create(organization_id=account_row.organization_id, account=account_row, **values)


@pytest.fixture
def greenfield(org, in_org):
    return account(org, "Greenfield Hydroponics")


@pytest.fixture
def nordic(org, in_org):
    return account(org, "Nordic Dairy Cooperative")


# --- Reads ----------------------------------------------------------------------------


def test_daily_series_is_zero_filled_oldest_first_and_adds_up_sources(greenfield, nordic, django_assert_num_queries):
    daily(greenfield, TODAY, "active_users", 5)
    daily(greenfield, TODAY, "active_users", 2, source=UsageSource.CSV)
    daily(greenfield, TODAY, "events", 100)
    daily(greenfield, TODAY, "events", 40, source=UsageSource.CONNECTOR, source_ref="7")
    daily(greenfield, TODAY - dt.timedelta(days=89), "events", 3)
    daily(greenfield, TODAY - dt.timedelta(days=90), "events", 999)  # one day too old
    daily(greenfield, TODAY + dt.timedelta(days=1), "events", 999)  # tomorrow: not yet
    daily(greenfield, TODAY, "logins", 999)  # another metric
    daily(nordic, TODAY, "events", 999)  # another account

    with django_assert_num_queries(1):
        series = card.daily_series(greenfield, today=TODAY)

    assert len(series) == 90
    assert series[0] == {"day": TODAY - dt.timedelta(days=89), "active_users": 0, "events": 3}
    assert series[-1] == {"day": TODAY, "active_users": 7, "events": 140}
    assert all(day == {"day": day["day"], "active_users": 0, "events": 0} for day in series[1:-1])


def test_daily_series_reads_only_the_active_organizations_rows(org, other_org, greenfield):
    with scope(organization=other_org):
        elsewhere = account(other_org, "Elsewhere's customer")
        # A row of the other organization wrongly naming our account must not count.
        UsageDaily.objects.create(organization=other_org, account=greenfield, day=TODAY, metric="events", source="events", value=50)
        daily(elsewhere, TODAY, "events", 60)
    daily(greenfield, TODAY, "events", 1)
    assert card.daily_series(greenfield, today=TODAY)[-1]["events"] == 1


def test_adoption_lists_features_in_order_with_last_use_and_uses_in_30_days(org, greenfield, nordic, django_assert_num_queries):
    feature(org, "Flow Deployed", 2, label="Deploy a flow")
    feature(org, "Snapshot Created", 1)
    feature(org, "Device Added", 3)
    feature(org, "User Logged In", 0, role=EventRole.LOGIN)  # not a feature
    daily(greenfield, TODAY, "event:Flow Deployed", 4)
    daily(greenfield, TODAY - dt.timedelta(days=10), "event:Flow Deployed", 2, source=UsageSource.CSV)
    daily(greenfield, TODAY - dt.timedelta(days=45), "event:Flow Deployed", 50)  # used, outside 30 days
    daily(greenfield, TODAY - dt.timedelta(days=40), "event:Snapshot Created", 1)
    daily(greenfield, TODAY, "event:Device Added", 0)  # a zero is not a use
    daily(nordic, TODAY, "event:Device Added", 9)  # another account's use

    with django_assert_num_queries(1):
        features = card.adoption(greenfield, today=TODAY)

    assert [(f.name, f.used, f.last_used, f.uses_30d) for f in features] == [
        ("Snapshot Created", True, TODAY - dt.timedelta(days=40), 0),
        ("Deploy a flow", True, TODAY, 6),
        ("Device Added", False, None, 0),
    ]


def test_metrics_are_the_accounts_usage_row_or_none(greenfield, nordic):
    row = metrics(greenfield)
    assert card.metrics_for(greenfield) == row
    assert card.metrics_for(nordic) is None


def test_the_usage_card_is_read_in_three_queries_whatever_the_data(org, greenfield, django_assert_num_queries):
    for n in range(5):
        feature(org, f"Feature {n}", n)
        daily(greenfield, TODAY - dt.timedelta(days=n), f"event:Feature {n}", 1)
        daily(greenfield, TODAY - dt.timedelta(days=n), "events", 10)
    metrics(greenfield)
    with django_assert_num_queries(3):
        shown = card.usage_card(greenfield, today=TODAY)
    assert shown.has_usage and len(shown.features_used) == 5


# --- The Account 360 ------------------------------------------------------------------


def _card(html: str) -> str:
    match = re.search(r'<article class="usage-card".*?</article>', html, re.S)
    assert match, "no usage card on the page"
    return match.group(0)


def test_account_360_shows_usage_metrics_chart_data_and_adoption(client, csm, org, greenfield):
    today = timezone.now().date()
    feature(org, "Flow Deployed", 1, label="Deploy a flow")
    feature(org, "Device Added", 2, description="Connect a device to run flows at the edge")
    daily(greenfield, today, "active_users", 7)
    daily(greenfield, today, "events", 140)
    daily(greenfield, today - dt.timedelta(days=2), "event:Flow Deployed", 3)
    metrics(greenfield)
    client.force_login(csm)

    html = client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode()

    card = _card(html)
    assert re.search(r'data-testid="usage-last-seen">.*3 days ago', card)
    assert re.search(r'data-testid="usage-wau">12 <small class="muted">of 20 seats \(60%\)', card)
    assert 'data-testid="usage-logins">41<' in card and 'data-testid="usage-api-calls">1,500<' in card
    assert re.search(r'data-testid="usage-adoption">33%', card)
    assert "↑ +12.5%" in card and "↓ -8%" in card
    series = json.loads(re.search(r'<script id="usage-series" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert len(series) == 90 and series[-1] == {"day": today.isoformat(), "active_users": 7, "events": 140}
    assert "Show the numbers" in card and f"<td><time datetime=\"{today.isoformat()}\">" in card
    used = re.search(r'data-testid="features-used">(.*?)</ul>', card, re.S).group(1)
    not_yet = re.search(r'data-testid="features-not-yet-used">(.*?)</ul>', card, re.S).group(1)
    assert "Deploy a flow" in used and (today - dt.timedelta(days=2)).isoformat() in used and "3 uses in 30 days" in used
    assert "Device Added" in not_yet and "Not yet used" in not_yet and "Connect a device" in not_yet
    # The chart's scripts come with the card, and only on this page.
    assert "vendor/chart.umd.min.js" in html and "tend/usage_chart.js" in html
    assert "chart.umd.min.js" not in client.get("/o/flowfuse/accounts/").content.decode()


def test_account_360_says_never_seen_and_dashes_for_missing_trends(client, csm, greenfield):
    metrics(greenfield, last_seen_at=None, wow_change_pct=None, trend_4w_pct=None, feature_adoption_pct=None, seats=None, wau_per_seat=None)
    client.force_login(csm)
    card = _card(client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode())
    assert 'data-testid="usage-last-seen">never<' in card
    assert "↑" not in card and "↓" not in card and "seats" not in card


def test_account_360_with_usage_rows_before_the_first_metrics_shows_the_chart(client, csm, greenfield):
    daily(greenfield, timezone.now().date(), "events", 5)
    client.force_login(csm)
    card = _card(client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode())
    assert "appear after the next rollup" in card and 'id="usage-chart"' in card


def test_account_360_without_usage_explains_how_to_send_it(client, admin, csm, greenfield):
    client.force_login(admin)
    html = client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode()
    card = _card(html)
    assert "No product usage yet" in card and "write key" in card
    assert 'href="/o/flowfuse/settings/usage/"' in card  # admins are shown where to set it up
    assert "usage-series" not in html and "chart.umd.min.js" not in html

    client.force_login(csm)
    card = _card(client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode())
    assert "An admin can connect" in card and "/settings/usage/" not in card


# --- The portfolio --------------------------------------------------------------------


def _names(response) -> list[str]:
    return [a.name for a in response.context["page"].object_list]


@pytest.fixture
def seen_book(org, csm, greenfield, nordic):
    now = timezone.now()
    orchard = account(org, "Orchard Robotics")
    metrics(greenfield, last_seen_at=now - dt.timedelta(days=3, hours=2))
    metrics(orchard, last_seen_at=now - dt.timedelta(minutes=5))
    metrics(account(org, "Ghost Town"), last_seen_at=None)  # metrics, never seen
    return {"greenfield": greenfield, "nordic": nordic, "orchard": orchard}


def test_portfolio_shows_last_seen_and_never(client, admin, seen_book):
    client.force_login(admin)
    html = client.get("/o/flowfuse/accounts/?owner=").content.decode()
    cells = dict(re.findall(r'<a href="/o/flowfuse/accounts/\w+/">([^<]+)</a></td>.*?data-testid="last-seen">(.*?)</td>', html, re.S))
    assert "3\xa0days" in cells["Greenfield Hydroponics"] and "ago" in cells["Greenfield Hydroponics"]
    assert "5\xa0minutes ago" in cells["Orchard Robotics"]
    assert "Never" in cells["Nordic Dairy Cooperative"] and "Never" in cells["Ghost Town"]
    assert ">Last seen</a>" in html


def test_portfolio_sorts_by_last_seen_both_ways_never_seen_last(client, admin, seen_book):
    client.force_login(admin)
    assert _names(client.get("/o/flowfuse/accounts/?owner=&sort=last_seen")) == [
        "Greenfield Hydroponics", "Orchard Robotics", "Ghost Town", "Nordic Dairy Cooperative",
    ]
    assert _names(client.get("/o/flowfuse/accounts/?owner=&sort=last_seen&dir=desc")) == [
        "Orchard Robotics", "Greenfield Hydroponics", "Nordic Dairy Cooperative", "Ghost Town",
    ]


def test_portfolio_last_seen_adds_no_query_per_row(client, org, admin, in_org, django_assert_num_queries):
    for n in range(3):
        metrics(account(org, f"Small {n}"))
    client.force_login(admin)
    client.get("/o/flowfuse/accounts/?owner=")  # warm-up: sessions, caches
    with CaptureQueriesContext(connection) as few:
        client.get("/o/flowfuse/accounts/?owner=&sort=last_seen")
    for n in range(3, 45):
        row = account(org, f"Small {n:02}")
        if n % 2:
            metrics(row)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/o/flowfuse/accounts/?owner=&sort=last_seen")
    assert len(response.context["page"].object_list) == 45
