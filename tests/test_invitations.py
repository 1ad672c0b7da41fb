"""An invitation is accepted only by the address it was sent to, whoever holds the link."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from cs_platform import services
from cs_platform.models import Invitation, Membership, Role
from cs_platform.selectors import token_hash

TOKEN = "a-link-token-for-the-tests-0123456789abcdef"
LINK = f"/invitations/{TOKEN}/"


@pytest.fixture
def admin_invitation(org, admin) -> Invitation:
    """An Admin role offered to someone who has no login yet."""
    with scope(organization=org):
        return Invitation.objects.create(
            organization=org, email="new.admin@flowfuse.example", role=Role.ADMIN,
            token_hash=token_hash(TOKEN), invited_by=admin,
        )


def test_a_member_signed_in_as_another_address_cannot_take_the_admin_role(client, org, csm, admin_invitation):
    client.force_login(csm)
    page = client.get(LINK)
    html = page.content.decode()
    assert "This invitation is for new.admin@flowfuse.example" in html
    assert "signed in as <strong>csm@flowfuse.example</strong>" in html
    assert "Accept and join" not in html
    assert 'action="/auth/logout/"' in html and f'name="next" value="{LINK}"' in html

    refused = client.post(LINK, follow=True)
    assert "Sign out, then sign in as new.admin@flowfuse.example to accept it." in refused.content.decode()
    with scope(organization=org):
        assert Membership.objects.get(user=csm).role == Role.CSM
        admin_invitation.refresh_from_db()
        assert admin_invitation.is_pending

    # The page's sign-out button comes back to the invitation, now as its invitee would see it.
    signed_out = client.post("/auth/logout/", {"next": LINK}, follow=True)
    assert signed_out.redirect_chain[-1][0] == LINK
    assert b"Create my login and join" in signed_out.content


def test_a_stranger_holding_the_link_does_not_join(client, org, stranger, admin_invitation):
    client.force_login(stranger)
    client.post(LINK)
    with scope(organization=org):
        assert not Membership.objects.filter(user=stranger).exists()


def test_the_service_refuses_anyone_but_the_invited_address(org, admin, csm, stranger):
    with scope(organization=org):
        invitation = Invitation.objects.create(
            organization=org, email="Stranger@Elsewhere.example", role=Role.ADMIN,
            token_hash=token_hash(TOKEN), invited_by=admin,
        )
    with pytest.raises(ValidationError, match="This invitation is for Stranger@Elsewhere.example"):
        services.invitation_accept(invitation=invitation, user=csm)
    # The invited person, whatever case the admin typed the address in, may.
    membership = services.invitation_accept(invitation=invitation, user=stranger)
    assert membership.user == stranger and membership.role == Role.ADMIN
