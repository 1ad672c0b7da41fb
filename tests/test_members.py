"""Admins invite people, change their roles and remove them; everything is audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django_scopes import scope

from cs_platform.models import AuditEntry, Invitation, Membership, Role, User
from tests.factories import member


def _invite(client, email="new.csm@flowfuse.example", role=Role.CSM, capture=None):
    with capture(execute=True):
        return client.post("/o/flowfuse/settings/members/invite/", {"email": email, "role": role}, follow=True)


def _link_from_mail() -> str:
    return re.search(r"http://[^/\s]+(/invitations/\S+/)", mail.outbox[-1].body)[1]


def test_admin_invites_a_new_person_who_sets_a_password_and_joins(
    client, org, as_admin, django_capture_on_commit_callbacks
):
    response = _invite(as_admin, capture=django_capture_on_commit_callbacks)
    assert b"Invitation sent to new.csm@flowfuse.example" in response.content
    assert b"new.csm@flowfuse.example" in response.content  # listed as pending
    assert mail.outbox[-1].to == ["new.csm@flowfuse.example"]
    link = _link_from_mail()

    client.logout()
    page = client.get(link)
    assert b"Join FlowFuse" in page.content and b"CSM" in page.content
    joined = client.post(
        link,
        {"full_name": "Nia Reyes", "password": "seedling-growth-77", "password_again": "seedling-growth-77"},
        follow=True,
    )
    assert joined.redirect_chain[-1][0] == "/o/flowfuse/accounts/"  # a CSM lands on their portfolio
    user = User.objects.get(email="new.csm@flowfuse.example")
    assert user.full_name == "Nia Reyes"
    with scope(organization=org):
        assert Membership.objects.get(user=user).role == Role.CSM
        assert AuditEntry.objects.filter(action="invitation.accepted", actor=user).exists()
    # The link is spent.
    assert client.get(link).status_code == 404


def test_accepting_with_mismatched_passwords_says_which_field(client, org, as_admin, django_capture_on_commit_callbacks):
    _invite(as_admin, capture=django_capture_on_commit_callbacks)
    link = _link_from_mail()
    client.logout()
    response = client.post(link, {"full_name": "Nia", "password": "seedling-growth-77", "password_again": "other-77-x"})
    assert response.status_code == 200
    assert b"The two passwords differ" in response.content
    assert not User.objects.filter(email="new.csm@flowfuse.example").exists()


def test_someone_with_a_login_signs_in_to_accept(client, org, other_org, as_admin, stranger, django_capture_on_commit_callbacks):
    _invite(as_admin, email=stranger.email, role=Role.VIEWER, capture=django_capture_on_commit_callbacks)
    link = _link_from_mail()
    client.logout()
    assert b"Sign in to accept" in client.get(link).content
    client.force_login(stranger)
    response = client.post(link, follow=True)
    assert response.redirect_chain[-1][0] == "/o/flowfuse/"
    with scope(organization=org):
        assert Membership.objects.get(user=stranger).role == Role.VIEWER


def test_inviting_an_existing_member_is_refused_with_a_reason(as_admin, csm, django_capture_on_commit_callbacks):
    response = _invite(as_admin, email="csm@flowfuse.example", capture=django_capture_on_commit_callbacks)
    assert b"already a member of FlowFuse" in response.content
    assert mail.outbox == []


def test_a_revoked_invitation_link_stops_working(client, org, as_admin, django_capture_on_commit_callbacks):
    _invite(as_admin, capture=django_capture_on_commit_callbacks)
    link = _link_from_mail()
    with scope(organization=org):
        invitation = Invitation.objects.get()
    response = as_admin.post(f"/o/flowfuse/settings/invitations/{invitation.public_id}/revoke/", follow=True)
    assert b"revoked" in response.content
    client.logout()
    assert client.get(link).status_code == 404


def test_pending_invitations_say_whether_their_mail_went(org, as_admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():  # committed, but the broker has not taken the mail yet
        as_admin.post("/o/flowfuse/settings/members/invite/", {"email": "later@flowfuse.example", "role": Role.CSM})
    _invite(as_admin, email="now@flowfuse.example", capture=django_capture_on_commit_callbacks)
    rows = re.findall(r'<tr data-testid="invitation-row">(.*?)</tr>', as_admin.get("/o/flowfuse/settings/members/").content.decode(), re.S)
    mail_cells = {re.search(r"<td>(\S+@flowfuse.example)</td>", row)[1]: row for row in rows}
    assert "Sent now" in mail_cells["now@flowfuse.example"]
    assert "Waiting to be sent" in mail_cells["later@flowfuse.example"]


def test_admin_changes_a_role_inline_with_htmx(org, as_admin, csm):
    with scope(organization=org):
        membership = Membership.objects.get(user=csm)
    response = as_admin.post(
        f"/o/flowfuse/settings/members/{membership.public_id}/role/", {"role": Role.MANAGER}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith("<tr") and "Saved" in html  # only the row, for htmx to swap
    with scope(organization=org):
        membership.refresh_from_db()
        assert membership.role == Role.MANAGER
        entry = AuditEntry.objects.get(action="membership.role_changed")
        assert entry.changes["role"] == ["csm", "manager"]


def test_role_change_works_without_javascript_too(org, as_admin, csm):
    with scope(organization=org):
        membership = Membership.objects.get(user=csm)
    response = as_admin.post(f"/o/flowfuse/settings/members/{membership.public_id}/role/", {"role": Role.AE}, follow=True)
    assert b"is now Account executive" in response.content


def test_the_last_admin_cannot_be_demoted_or_removed(org, as_admin, admin):
    with scope(organization=org):
        membership = Membership.objects.get(user=admin)
    demote = as_admin.post(
        f"/o/flowfuse/settings/members/{membership.public_id}/role/", {"role": Role.CSM}, HTTP_HX_REQUEST="true"
    )
    assert b"needs at least one admin" in demote.content
    remove = as_admin.post(f"/o/flowfuse/settings/members/{membership.public_id}/remove/", follow=True)
    assert b"needs at least one admin" in remove.content
    with scope(organization=org):
        assert Membership.objects.get(user=admin).role == Role.ADMIN


def test_a_removed_member_loses_access_at_once(client, org, as_admin, csm):
    with scope(organization=org):
        membership = Membership.objects.get(user=csm)
    confirm = as_admin.get(f"/o/flowfuse/settings/members/{membership.public_id}/remove/")
    assert b"will lose access" in confirm.content
    as_admin.post(f"/o/flowfuse/settings/members/{membership.public_id}/remove/")
    client.force_login(csm)
    assert client.get("/o/flowfuse/").status_code == 404


def test_admin_updates_organization_settings_with_clear_errors(org, as_admin):
    bad = as_admin.post("/o/flowfuse/settings/", {"name": "FlowFuse", "time_zone": "Mars/Olympus", "currency": "e1r"})
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "Mars/Olympus is not one of the available choices" in body
    assert "three-letter ISO 4217 code" in body
    good = as_admin.post(
        "/o/flowfuse/settings/", {"name": "FlowFuse BV", "time_zone": "Europe/Amsterdam", "currency": "eur"}, follow=True
    )
    assert b"Organization settings saved" in good.content
    org.refresh_from_db()
    assert (org.name, org.time_zone, org.currency) == ("FlowFuse BV", "Europe/Amsterdam", "EUR")
    with scope(organization=org):
        assert AuditEntry.objects.get(action="organization.updated").changes["currency"] == ["USD", "EUR"]


def test_audit_log_filters_by_action_family_and_pages_in_constant_queries(
    org, as_admin, admin, django_assert_max_num_queries
):
    from cs_platform.audit import audit_log

    with scope(organization=org):
        for n in range(120):
            audit_log(organization=org, actor=admin, action="membership.role_changed", changes={"n": n})
        audit_log(organization=org, actor=admin, action="organization.updated")
    with django_assert_max_num_queries(12):
        first = as_admin.get("/o/flowfuse/settings/audit/")
    with django_assert_max_num_queries(12):
        as_admin.get("/o/flowfuse/settings/audit/?page=3")
    assert b"Page 1 of 3" in first.content
    assert 'href="?action=&amp;page=2"' in first.content.decode()
    filtered = as_admin.get("/o/flowfuse/settings/audit/?action=organization", HTTP_HX_REQUEST="true")
    html = filtered.content.decode()
    assert html.lstrip().startswith('<div id="audit-results">')
    assert "organization.updated" in html and "membership.role_changed" not in html


@pytest.mark.parametrize(
    "path",
    ["/o/flowfuse/settings/", "/o/flowfuse/settings/members/", "/o/flowfuse/settings/members/invite/", "/o/flowfuse/settings/audit/"],
)
@pytest.mark.parametrize("role", [Role.MANAGER, Role.CSM, Role.AE, Role.VIEWER])
def test_only_admins_reach_admin_pages(client, org, role, path):
    client.force_login(member(org, role))
    response = client.get(path)
    assert response.status_code == 403
    assert b"Your role in this organization does not allow this page" in response.content


@pytest.mark.parametrize("role", [Role.MANAGER, Role.CSM, Role.AE, Role.VIEWER])
def test_non_admins_cannot_change_roles_by_posting_either(client, org, csm, role):
    client.force_login(member(org, role))
    with scope(organization=org):
        membership = Membership.objects.get(user=csm)
    assert client.post(f"/o/flowfuse/settings/members/{membership.public_id}/role/", {"role": Role.ADMIN}).status_code == 403
    with scope(organization=org):
        membership.refresh_from_db()
    assert membership.role == Role.CSM
