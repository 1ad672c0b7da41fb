"""Steps the browser tests share: signing in and out, and the sidebar's links."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.factories import PASSWORD


def sign_in(page, email: str) -> None:
    """Sign in as ``email`` (a member of "flowfuse") and land in that organization."""
    page.goto("/auth/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/o/flowfuse/"))


def nav(page, label: str):
    """A link in the sidebar navigation (pages may link to the same place in their content)."""
    return page.get_by_role("complementary", name="Navigation").get_by_role("link", name=label, exact=True)


def sign_out(page) -> None:
    page.locator(".user-menu summary").click()
    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/auth/login/$"))
