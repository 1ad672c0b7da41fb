"""The outbox: a task is kept with the rows it is for, sent after commit, sent again by
beat or ``send_outbox`` when it did not go, and run at most once in effect."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from accounts import services as accounts_services
from accounts.models import Handoff
from accounts.services import notify_csm_of_handoff
from cs_platform import outbox, services
from cs_platform.models import Invitation, OutboxMessage, Role
from cs_platform.selectors import invitation_for_token
from cs_platform.services import send_invitation_email
from tests.factories import member


def _invite(org, admin, email: str = "new.csm@flowfuse.example") -> Invitation:
    with scope(organization=org):
        return services.invitation_create(organization=org, actor=admin, email=email, role=Role.CSM)


def _link(message) -> str:
    return re.search(r"/invitations/(\S+)/", message.body)[1]


def test_a_task_is_kept_with_its_transaction_and_lost_with_its_rollback(org, admin):
    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        _invite(org, admin)
        assert OutboxMessage.objects.count() == 1
        raise Undo
    assert not OutboxMessage.objects.exists()
    with scope(organization=org):
        assert not Invitation.objects.exists()


def test_the_task_holds_ids_only_and_goes_once_committed(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = _invite(org, admin)
    # Neither the outbox nor the broker ever holds a usable link: only ids.
    [message] = OutboxMessage.objects.all()
    assert (message.task, message.args, message.sent_at) == ("cs_platform.send_invitation_email", [org.id, invitation.id], None)
    assert mail.outbox == []

    callbacks[0]()  # the commit
    assert len(mail.outbox) == 1
    assert not OutboxMessage.objects.exists()  # the task ran (eagerly here), so its row went
    with scope(organization=org):
        assert invitation_for_token(_link(mail.outbox[0])) == invitation


def test_beat_sends_what_did_not_go_oldest_first_in_bounded_batches(org, admin, django_capture_on_commit_callbacks):
    # Committed, but the after-commit sends never ran (the web process died, say).
    with django_capture_on_commit_callbacks():
        first = _invite(org, admin, "first@flowfuse.example")
        second = _invite(org, admin, "second@flowfuse.example")
    assert outbox.send_due().sent == 0  # still within the writer's own grace: not the beat's yet
    OutboxMessage.objects.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))

    assert outbox.send_due(limit=1).sent == 1
    assert [m.to for m in mail.outbox] == [[first.email]]
    assert OutboxMessage.objects.get().args == [org.id, second.id]
    assert outbox.send_due().sent == 1
    assert [m.to for m in mail.outbox] == [[first.email], [second.email]]
    assert not OutboxMessage.objects.exists()


def test_send_outbox_sends_everything_waiting_now(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        _invite(org, admin)
    out = io.StringIO()
    call_command("send_outbox", stdout=out)
    assert out.getvalue() == "Sent 1 task.\n"
    assert len(mail.outbox) == 1 and not OutboxMessage.objects.exists()


def test_a_row_naming_a_task_nobody_defines_is_kept_and_holds_up_nothing(org, admin, django_capture_on_commit_callbacks):
    stray = OutboxMessage.objects.create(task="gone.task", args=[1], next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks():
        _invite(org, admin)
    assert outbox.send_due(everything=True).sent == 2
    assert len(mail.outbox) == 1
    stray.refresh_from_db()
    assert (stray.attempts, stray.sent_at, stray.last_error) == (1, None, "No task named gone.task.")
    assert stray.next_attempt_at > timezone.now()


def test_a_second_delivery_of_the_invitation_mails_nothing(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(org, admin)
    link = _link(mail.outbox[0])
    send_invitation_email.apply(args=[org.id, invitation.id])  # delivered again (at least once)
    assert len(mail.outbox) == 1
    with scope(organization=org):
        invitation.refresh_from_db()
        assert invitation.emailed_at is not None
        assert invitation_for_token(link) == invitation  # the link mailed still works


def test_a_revoked_invitation_is_not_mailed_when_its_task_comes_late(org, admin, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = _invite(org, admin)
    with scope(organization=org):
        services.invitation_revoke(invitation=invitation, actor=admin)
    callbacks[0]()
    assert mail.outbox == []


def test_a_second_delivery_of_the_handoff_mail_sends_nothing(org, csm, django_capture_on_commit_callbacks):
    ae = member(org, Role.AE)
    with scope(organization=org), django_capture_on_commit_callbacks(execute=True):
        handoff = accounts_services.handoff_log(organization=org, ae=ae, account_name="Sunrise Farms", csm=csm)
    assert [m.to for m in mail.outbox] == [[csm.email]]
    notify_csm_of_handoff.apply(args=[org.id, handoff.id])
    assert len(mail.outbox) == 1
    with scope(organization=org):
        assert Handoff.objects.get(pk=handoff.pk).csm_notified_at is not None


def test_no_code_sends_a_task_around_the_outbox():
    """Every task sent after a commit goes through ``outbox.enqueue``: none is left to Redis alone."""
    root = Path(settings.BASE_DIR)
    around = re.compile(r"\.(delay_on_commit|apply_async_on_commit)\(")
    found = [
        f"{path.relative_to(root)}:{number}: {line.strip()}"
        for top in root.iterdir()
        if top.is_dir() and not top.is_symlink() and not top.name.startswith(".")
        for path in top.rglob("*.py")
        if path != Path(__file__)
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if around.search(line)
    ]
    assert found == [], "Use cs_platform.outbox.enqueue instead:\n" + "\n".join(found)
