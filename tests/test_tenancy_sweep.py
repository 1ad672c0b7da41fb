"""Every URL under /o/<org_slug>/, found by walking the URLconf, is closed to strangers.

New apps' views are swept automatically (see ``tests/routes.py``); the per-object case,
another organization's member asking for this one's objects, is ``test_tenancy_objects``.
"""

from __future__ import annotations

import pytest

from tests.routes import make_objects, object_kwargs, organization_routes, url_of


def test_the_sweep_finds_the_organization_pages():
    routes = organization_routes()
    assert "o/<slug:org_slug>/" in routes
    assert "o/<slug:org_slug>/settings/members/<str:member>/role/" in routes


@pytest.mark.parametrize("route", organization_routes())
def test_organization_url_is_closed_to_strangers_and_anonymous(route, client, org, admin, stranger):
    url = url_of(route, org, make_objects(org, object_kwargs(route)))

    anonymous_get = client.get(url)
    assert anonymous_get.status_code == 302 and anonymous_get["Location"].startswith("/auth/login/"), url

    client.force_login(stranger)
    assert client.get(url).status_code == 404, f"{url} answered a member of another organization"
    assert client.post(url).status_code == 404, f"{url} took a POST from a member of another organization"

    # The same URL works for a member: the 404 above is tenancy, not a bad test URL.
    client.force_login(admin)
    assert client.get(url).status_code in {200, 302, 405}, url
