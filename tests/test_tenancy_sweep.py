"""Every URL under /o/<org_slug>/, found by walking the URLconf, is closed to strangers.

New apps' views are swept automatically. A URL with an id in it needs a way to make
a real one in the organization: add it to ``tests/routes.py``'s ``URL_KWARG_MAKERS``.
"""

from __future__ import annotations

import pytest

from tests.routes import organization_routes, url_for_route


def test_the_sweep_finds_the_organization_pages():
    routes = organization_routes()
    assert "o/<slug:org_slug>/" in routes
    assert "o/<slug:org_slug>/settings/members/<str:member>/role/" in routes


@pytest.mark.parametrize("route", organization_routes())
def test_organization_url_is_closed_to_strangers_and_anonymous(route, client, org, admin, stranger):
    url = url_for_route(route, org)

    anonymous_get = client.get(url)
    assert anonymous_get.status_code == 302 and anonymous_get["Location"].startswith("/auth/login/"), url

    client.force_login(stranger)
    assert client.get(url).status_code == 404, f"{url} answered a member of another organization"
    assert client.post(url).status_code == 404, f"{url} took a POST from a member of another organization"

    # The same URL works for a member: the 404 above is tenancy, not a bad test URL.
    client.force_login(admin)
    assert client.get(url).status_code in {200, 302, 405}, url
