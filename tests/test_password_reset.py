"""Password-reset mails are rate-limited per address and per IP, with the same answer either way."""

from __future__ import annotations

from datetime import timedelta

from django.core import mail
from django.db.models import F

from cs_platform.models import PasswordResetRequest
from tests.factories import UserFactory


def _ask(client, email: str, ip: str = "203.0.113.7"):
    return client.post("/auth/password_reset/", {"email": email}, REMOTE_ADDR=ip, follow=True)


def test_one_address_gets_three_reset_mails_an_hour_and_the_same_answer_every_time(client, csm):
    for _ in range(10):
        response = _ask(client, "csm@flowfuse.example")
        assert response.status_code == 200 and b"Check your e-mail" in response.content
    assert len(mail.outbox) == 3
    # Another spelling of the address is the same address.
    _ask(client, "CSM@FlowFuse.example", ip="198.51.100.2")
    assert len(mail.outbox) == 3


def test_an_hour_later_the_address_gets_mail_again(client, csm):
    for _ in range(4):
        _ask(client, "csm@flowfuse.example")
    assert len(mail.outbox) == 3
    PasswordResetRequest.objects.update(created_at=F("created_at") - timedelta(hours=1, minutes=1))
    _ask(client, "csm@flowfuse.example")
    assert len(mail.outbox) == 4


def test_one_ip_gets_twenty_reset_requests_an_hour_known_addresses_or_not(client, db):
    # Unknown addresses count too: asking about many addresses is how logins are probed.
    for n in range(10):
        assert b"Check your e-mail" in _ask(client, f"nobody{n}@customer.example").content
    people = [UserFactory(email=f"person{n}@customer.example") for n in range(11)]
    for person in people:
        assert b"Check your e-mail" in _ask(client, person.email).content
    assert len(mail.outbox) == 10
    assert people[-1].email not in {message.to[0] for message in mail.outbox}
    # The limit is on that IP, not on the address.
    _ask(client, people[-1].email, ip="198.51.100.2")
    assert mail.outbox[-1].to == [people[-1].email]
