"""The URLconf's own rules, checked by walking it: every name is namespaced by its app, and
every page that answers htmx with a fragment says so to caches (``Vary: HX-Request``)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.pages import read_html
from tests.routes import organization_routes, url_for_route

# Django's own, included as they come: sign-in, password reset, the platform admin.
UNNAMESPACED_ALLOWED = {
    "login", "logout", "password_change", "password_change_done", "password_reset", "password_reset_done",
    "password_reset_confirm", "password_reset_complete",
}
# Tokens that differ between two renderings of the same page.
_PER_RESPONSE = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')


def _names(patterns, namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue
            inner = f"{namespace}:{entry.namespace}" if namespace and entry.namespace else entry.namespace or namespace
            yield from _names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace, entry.name


def test_every_url_name_is_namespaced_by_its_app():
    loose = sorted(name for namespace, name in _names(get_resolver().url_patterns) if not namespace)
    assert set(loose) <= UNNAMESPACED_ALLOWED, f"put these in their app's namespace (app_name): {sorted(set(loose) - UNNAMESPACED_ALLOWED)}"


def _normalised(response) -> bytes:
    return _PER_RESPONSE.sub(r"\1…", response.content.decode()).encode() if not response.streaming else b""


@pytest.mark.parametrize("route", organization_routes())
def test_pages_answering_htmx_differently_vary_on_it(route, client, org, admin):
    client.force_login(admin)
    url = url_for_route(route, org)
    page = client.get(url)
    if page.status_code != 200 or "text/html" not in page["Content-Type"]:
        return
    for address in {url, *read_html(page.content, url).htmx_gets}:
        plain, fragment = client.get(address), client.get(address, headers={"HX-Request": "true"})
        if (plain.status_code, _normalised(plain)) != (fragment.status_code, _normalised(fragment)):
            for response in (plain, fragment):
                assert "HX-Request" in response.get("Vary", ""), f"GET {address} answers htmx differently without Vary: HX-Request"
