"""Every role's main pages under the strict Content-Security-Policy, in Chromium: the policy is
sent, and nothing on the pages (markup, htmx, Chart.js) breaks it or throws."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import expect

from accounts.tests.factories import account
from cs_platform.models import Invitation, Role
from cs_platform.selectors import token_hash
from usage.connectors.services import connector_save
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily
from tests.browser.helpers import sign_in
from tests.factories import OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Reported to the test through the console, with the other errors, whatever page it happens on.
WATCH_SCRIPT = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
document.addEventListener("htmx:evalDisallowedError", () => console.error("htmx needed eval, which the policy forbids"));
"""


@pytest.fixture
def greenfield():
    """FlowFuse with one member of each role, and an account whose 360 page draws a usage chart."""
    org = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    for role in Role:
        member(org, role, email=f"{role.value}@flowfuse.example")
    today = timezone.now().date()
    with scope(organization=org):
        greenfield = account(org, "Greenfield Hydroponics", renews_in_days=40)
        EventDefinition.objects.create(organization=org, role=EventRole.FEATURE, event_name="Flow Deployed", position=1)
        UsageDaily.objects.bulk_create(
            UsageDaily(organization=org, account=greenfield, day=today - dt.timedelta(days=back), metric=metric,
                       source="events", value=value)
            for back in range(30)
            for metric, value in (("active_users", 10 - back // 4), ("events", 200 - back * 5))
        )
        AccountUsage.objects.create(
            organization=org, account=greenfield, last_seen_at=timezone.now(), active_users_7d=10, logins_7d=30,
            features_used_30d=1, features_total=1, feature_adoption_pct=100.0,
        )
        with override_settings(CONNECTOR_ALLOWED_NETWORKS=["127.0.0.0/8"]):  # saving checks the address
            connector = connector_save(
                organization=org, actor=None, name="Product DB", dsn="postgresql://reader:pw@127.0.0.1:1/product",
                query="SELECT account_id, day, metric, value FROM usage", schedule_minutes=60, enabled=False,
            )
    return greenfield, connector


class Visitor:
    """A page that records every console error, page error and document without the policy."""

    def __init__(self, page):
        self.page, self.problems = page, []
        page.add_init_script(WATCH_SCRIPT)
        page.on("console", lambda message: message.type == "error" and self.problems.append(f"{page.url}: {message.text}"))
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: {error}"))
        page.on("response", self._check_policy)

    def _check_policy(self, response) -> None:
        if response.request.resource_type != "document":
            return
        policy = response.headers.get("content-security-policy", "")
        if "default-src 'self'" not in policy or "frame-ancestors 'none'" not in policy or "unsafe-" in policy:
            self.problems.append(f"{response.url}: no strict Content-Security-Policy ({policy!r})")

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.ok, f"{path}: {response and response.status}"
        # Violation reports are queued as tasks: let the page run them before moving on.
        self.page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 0))")

    def sidebar_paths(self) -> list[str]:
        links = self.page.get_by_role("complementary", name="Navigation").locator("nav a")
        return [links.nth(n).get_attribute("href") for n in range(links.count())]


SIDEBAR_PARTS = {
    "all": lambda path: True,
    "work": lambda path: "/settings/" not in path,
    "settings": lambda path: "/settings/" in path,
}


def _tour(page, email: str, *, sidebar: str | None, extra: list[str]) -> list[str]:
    """Sign in as ``email``, open the links of that part of the sidebar, then ``extra``."""
    visitor = Visitor(page)
    sign_in(page, email)
    paths = [path for path in visitor.sidebar_paths() if sidebar is not None and SIDEBAR_PARTS[sidebar](path)]
    assert sidebar is None or paths, "the sidebar has no such links"
    for path in [*paths, *extra]:
        visitor.visit(path)
    return visitor.problems


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CSM, Role.AE, Role.VIEWER])
def test_every_roles_pages_keep_to_the_policy(page, greenfield, role):
    account_page = f"/o/flowfuse/accounts/{greenfield[0].public_id}/"
    problems = _tour(page, f"{role.value}@flowfuse.example", sidebar="all", extra=[account_page, "/orgs/"])
    assert problems == []


@pytest.mark.parametrize("part", ["work", "settings"])
def test_admins_sidebar_pages_keep_to_the_policy(page, greenfield, part):
    # In two halves: an admin's sidebar is long.
    assert _tour(page, "admin@flowfuse.example", sidebar=part, extra=[]) == []


def test_admins_forms_and_detail_pages_keep_to_the_policy(page, greenfield):
    greenfield_account, connector = greenfield
    extra = [
        f"/o/flowfuse/settings/usage/connectors/{connector.public_id}/",
        "/o/flowfuse/settings/usage/connectors/new/",
        "/o/flowfuse/settings/usage/upload/",
        "/o/flowfuse/settings/usage/unmatched/",
        "/o/flowfuse/settings/members/invite/",
        "/o/flowfuse/settings/tiers/new/",
        "/o/flowfuse/accounts/import/",
        f"/o/flowfuse/accounts/{greenfield_account.public_id}/edit/",
        "/auth/password_change/",
    ]
    assert _tour(page, "admin@flowfuse.example", sidebar=None, extra=extra) == []


def test_the_chart_and_htmx_work_under_the_policy(page, greenfield):
    visitor = Visitor(page)
    sign_in(page, "csm@flowfuse.example")
    visitor.visit(f"/o/flowfuse/accounts/{greenfield[0].public_id}/")
    page.wait_for_function("() => !!(window.Chart && Chart.getChart(document.getElementById('usage-chart')))")
    assert page.get_by_test_id("usage-chart").bounding_box()["height"] > 100
    # htmx read its configuration: it injected no <style> and will evaluate nothing.
    assert page.evaluate("() => [htmx.config.allowEval, document.querySelectorAll('style').length]") == [False, 0]

    # The portfolio's search runs through htmx (a trigger with a CSS selector, no eval).
    visitor.visit("/o/flowfuse/accounts/")
    with page.expect_response(lambda response: "q=Nothing" in response.url):
        page.get_by_role("searchbox").press_sequentially("Nothing")
    expect(page.get_by_text("Greenfield Hydroponics")).to_have_count(0)
    assert visitor.problems == []


def test_public_pages_keep_to_the_policy(page, greenfield):
    org = greenfield[0].organization
    with scope(organization=org):
        Invitation.objects.create(organization=org, email="new@flowfuse.example", role=Role.CSM, token_hash=token_hash("t0ken"))
    visitor = Visitor(page)
    for path in ["/auth/login/", "/auth/password_reset/", "/invitations/t0ken/"]:
        visitor.visit(path)
    assert visitor.problems == []
