"""Where people land, the organization switcher, and navigation by role."""

from __future__ import annotations

from cs_platform.models import Role
from tests.factories import OrganizationFactory, member


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")


def test_someone_in_several_organizations_chooses_then_returns_to_the_last(client, org, admin):
    second = OrganizationFactory(name="Nodewave Labs", slug="nodewave")
    member_of_second = member(second, Role.MANAGER)
    client.force_login(admin)
    # One organization: straight in.
    assert client.get("/")["Location"] == "/o/flowfuse/"
    from django_scopes import scopes_disabled

    from cs_platform.models import Membership

    with scopes_disabled():
        Membership.objects.create(organization=second, user=admin, role=Role.MANAGER)
    admin.last_organization = None
    admin.save()
    assert client.get("/")["Location"] == "/orgs/"
    page = client.get("/orgs/").content.decode()
    assert "FlowFuse" in page and "Nodewave Labs" in page and "You are Manager" in page
    client.get("/o/nodewave/")
    assert client.get("/")["Location"] == "/o/nodewave/"
    assert member_of_second.email not in page


def test_the_switcher_lists_only_my_organizations(client, org, other_org, admin):
    client.force_login(admin)
    html = client.get("/o/flowfuse/").content.decode()
    assert 'data-testid="org-switcher"' in html
    assert "Elsewhere Inc" not in html


def test_navigation_shows_settings_to_admins_only(client, org, admin, csm):
    client.force_login(admin)
    admin_html = client.get("/o/flowfuse/").content.decode()
    assert "/o/flowfuse/settings/members/" in admin_html and "/o/flowfuse/settings/audit/" in admin_html
    client.force_login(csm)
    csm_html = client.get("/o/flowfuse/").content.decode()
    assert "/o/flowfuse/settings/members/" not in csm_html
    assert "Works a book of accounts" in csm_html


def test_someone_in_no_organization_is_told_what_to_do(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    html = client.get("/", follow=True).content.decode()
    assert "Ask an admin of your team" in html


def test_pages_are_served_with_our_own_htmx_and_css(client, admin):
    client.force_login(admin)
    html = client.get("/o/flowfuse/").content.decode()
    assert "/static/vendor/htmx.min.js" in html and "/static/vendor/pico.min.css" in html
    assert "unpkg" not in html and "cdn" not in html.lower()
