"""Signing in and out, password reset, and the login rate limit."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from cs_platform.models import Role
from tests.factories import member


def test_sign_in_by_email_in_any_case_lands_in_the_organization(client, org, csm, password):
    response = client.post("/auth/login/", {"username": "CSM@FlowFuse.example", "password": password}, follow=True)
    assert response.redirect_chain[-1][0] == "/o/flowfuse/accounts/"  # the CSM's home
    assert b"Sofia Marin" in response.content


def test_wrong_password_says_so_and_keeps_you_out(client, csm):
    response = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct" in response.content.lower()
    assert "_auth_user_id" not in client.session


def test_sign_out_needs_a_post_and_ends_the_session(client, csm):
    client.force_login(csm)
    response = client.post("/auth/logout/")
    assert response.status_code == 302 and response["Location"] == "/auth/login/"
    assert client.get("/o/flowfuse/").status_code == 302


def test_after_five_wrong_passwords_even_the_right_one_is_refused(client, csm, password):
    for _ in range(5):
        client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": "wrong"})
    response = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": password})
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("spelling", ["CSM@FLOWFUSE.EXAMPLE", "Csm@FlowFuse.example"])
def test_the_lockout_holds_however_the_address_is_typed(client, csm, password, spelling):
    for _ in range(5):
        client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": "wrong"})
    response = client.post("/auth/login/", {"username": spelling, "password": password})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_wrong_passwords_in_different_spellings_count_together(client, csm, password):
    for spelling in ["csm@flowfuse.example", "CSM@flowfuse.example", "csm@FLOWFUSE.example", "Csm@Flowfuse.Example", "CSM@FLOWFUSE.EXAMPLE"]:
        client.post("/auth/login/", {"username": spelling, "password": "wrong"})
    response = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": password})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_address(client, org, csm, password):
    other = member(org, Role.CSM, email="other@flowfuse.example")
    for _ in range(5):
        client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": "wrong"})
    response = client.post("/auth/login/", {"username": other.email, "password": password})
    assert response.status_code == 302


def test_password_reset_by_email_link(client, csm):
    response = client.post("/auth/password_reset/", {"email": "csm@flowfuse.example"}, follow=True)
    assert b"Check your e-mail" in response.content
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["csm@flowfuse.example"]
    link = re.search(r"http://testserver(/auth/reset/\S+)", mail.outbox[0].body)[1]
    form_page = client.get(link, follow=True)
    assert b"Choose a new password" in form_page.content
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": "fresh-pasture-2026", "new_password2": "fresh-pasture-2026"}, follow=True)
    assert b"Your password is changed" in done.content
    signed_in = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": "fresh-pasture-2026"})
    assert signed_in.status_code == 302 and "_auth_user_id" in client.session


def test_password_reset_tells_nothing_about_unknown_addresses(client, db):
    response = client.post("/auth/password_reset/", {"email": "nobody@example.com"}, follow=True)
    assert b"Check your e-mail" in response.content
    assert mail.outbox == []


@pytest.mark.parametrize("staff", [False, True])
def test_django_admin_is_for_platform_staff_only(client, admin, staff):
    admin.is_staff = staff
    admin.is_superuser = staff
    admin.save()
    client.force_login(admin)
    response = client.get("/admin/cs_platform/organization/")
    if staff:
        assert response.status_code == 200 and b"FlowFuse" in response.content
    else:
        # An organization admin is not platform staff: Django's admin sends them to its login.
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
