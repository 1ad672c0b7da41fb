"""A person in two organizations signs in, switches organization and signs out, in a real browser."""

from __future__ import annotations

import re

import pytest
from django_scopes import scopes_disabled
from playwright.sync_api import expect

from cs_platform.models import Membership, Role
from tests.factories import PASSWORD, OrganizationFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_switch_organization_and_sign_out(page, live_server):
    flowfuse = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    nodewave = OrganizationFactory(name="Nodewave Labs", slug="nodewave")
    admin = member(flowfuse, Role.ADMIN, email="admin@flowfuse.example", full_name="Priya Shah")
    with scopes_disabled():
        Membership.objects.create(organization=nodewave, user=admin, role=Role.MANAGER)

    page.goto("/o/flowfuse/")
    expect(page).to_have_url(re.compile(r"/auth/login/\?next=/o/flowfuse/"))
    page.get_by_label("E-mail address").fill("admin@flowfuse.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(r"/o/flowfuse/$"))
    expect(page.get_by_role("heading", name="Welcome, Priya")).to_be_visible()
    expect(page.get_by_role("link", name="Members")).to_be_visible()  # admin navigation

    switcher = page.get_by_test_id("org-switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("link", name=re.compile("Nodewave Labs")).click()
    expect(page).to_have_url(re.compile(r"/o/nodewave/$"))
    expect(page.get_by_text("Your role: Manager")).to_be_visible()
    # A manager there: no admin settings in the navigation.
    expect(page.get_by_role("link", name="Members")).to_have_count(0)

    page.locator(".user-menu summary").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/auth/login/$"))
    page.goto("/o/nodewave/")
    expect(page).to_have_url(re.compile(r"/auth/login/"))


def test_admin_changes_a_role_inline_without_reloading(page, live_server):
    flowfuse = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(flowfuse, Role.ADMIN, email="admin@flowfuse.example")
    csm = member(flowfuse, Role.CSM, email="csm@flowfuse.example", full_name="Sofia Marin")

    page.goto("/auth/login/")
    page.get_by_label("E-mail address").fill("admin@flowfuse.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/o/flowfuse/settings/members/")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Role of Sofia Marin").select_option("manager")
    expect(page.get_by_test_id("member-row").filter(has_text="Sofia Marin").get_by_text("Saved")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the row in place
    with scopes_disabled():
        assert Membership.objects.get(user=csm).role == Role.MANAGER
