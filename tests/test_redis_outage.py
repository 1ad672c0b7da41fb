"""With its Redis paused or stopped, Tend (real gunicorn, worker and commands, on a private
Redis) keeps storing events and answering pages; what waited in the outbox goes once
Redis is back."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
import requests
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import AccountImport
from cs_platform.models import Invitation, OutboxMessage, Role
from usage.services import write_key_create
from tests import processes
from tests.factories import PASSWORD, OrganizationFactory, member

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# A paused Redis once held a request for 20 s; now a request waits on it for at most
# REDIS_TIMEOUT_SECONDS (0.5 s) a call. This deadline only keeps a regression from hanging.
REQUEST_DEADLINE_SECONDS = 15


@pytest.fixture
def redis_server(tmp_path):
    with processes.private_redis(tmp_path) as server:
        yield server


@pytest.fixture
def env(redis_server, tmp_path) -> dict[str, str]:
    """Tend's processes on the private Redis, with a queue of their own, mailing into files."""
    return {
        "REDIS_URL": redis_server.url, "CELERY_TASK_DEFAULT_QUEUE": f"tend-outage-{uuid.uuid4().hex[:8]}",
        "CELERY_TASK_ALWAYS_EAGER": "0",  # the web process sends tasks, as in production
        **processes.mail_to(tmp_path / "mail"),
    }


@pytest.fixture
def web(env):
    with processes.gunicorn(**env) as (base, _):
        yield base


@pytest.fixture
def org():
    organization = OrganizationFactory(name="FlowFuse", slug="flowfuse")
    member(organization, Role.ADMIN, email="admin@flowfuse.example")
    return organization


class Browser:
    """A signed-in person's requests to the real server: cookies, CSRF, a deadline each."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, timeout=REQUEST_DEADLINE_SECONDS)

    def post(self, path: str, data: dict, files: dict | None = None) -> requests.Response:
        if "csrftoken" not in self.session.cookies:
            self.get("/auth/login/")
        data = {**data, "csrfmiddlewaretoken": self.session.cookies["csrftoken"]}
        return self.session.post(
            self.base + path, data=data, files=files, timeout=REQUEST_DEADLINE_SECONDS, allow_redirects=False
        )

    def sign_in(self, email: str) -> requests.Response:
        return self.post("/auth/login/", {"username": email, "password": PASSWORD})


def _ingest(base: str, key: str, message_id: str) -> requests.Response:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "Flow Deployed", "messageId": message_id}]}
    return requests.post(f"{base}/v1/batch", json=batch, headers={"Authorization": auth}, timeout=REQUEST_DEADLINE_SECONDS)


def _stored_events(org) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT message_id FROM integrations_usageevent WHERE organization_id = %s ORDER BY message_id", [org.id])
        return [row[0] for row in cursor.fetchall()]


def _invite(browser: Browser, email: str) -> Invitation:
    response = browser.post("/o/flowfuse/settings/members/invite/", {"email": email, "role": Role.CSM})
    assert response.status_code == 302 and response.headers["Location"] == "/o/flowfuse/settings/members/", response.text[:2000]
    with scopes_disabled():
        return Invitation.objects.get(email=email)


def _waiting(invitation: Invitation) -> OutboxMessage:
    """The invitation's task, kept because the broker did not take it."""
    message = OutboxMessage.objects.get(args=[invitation.organization_id, invitation.pk])
    assert message.sent_at is None and message.attempts == 1 and message.last_error, message.__dict__
    return message


def test_while_redis_is_paused_or_stopped_ingestion_sign_in_invitations_and_uploads_work(
    redis_server, web, org, tmp_path
):
    with scope(organization=org):
        _, key = write_key_create(organization=org, actor=None, label="Web app")
    for outage, begin in (("paused", redis_server.pause), ("stopped", redis_server.stop)):
        begin()
        # Events are stored; the rate limit, which Redis counts, lets them through.
        assert _ingest(web, key, f"{outage}-1").json() == {"success": True}
        assert _ingest(web, key, f"{outage}-2").status_code == 200
        browser = Browser(web)
        assert browser.sign_in("admin@flowfuse.example").status_code == 302
        assert "Members" in browser.get("/o/flowfuse/settings/members/").text
        # The invitation is made at once; its mail waits in the outbox for the broker.
        _waiting(_invite(browser, f"{outage}@flowfuse.example"))
        upload = browser.post(
            "/o/flowfuse/accounts/import/", {"kind": "accounts"},
            files={"file": ("accounts.csv", b"External id,Name\nA-1,Acme\n", "text/csv")},
        )
        assert upload.status_code == 302, upload.text[:2000]
        assert "Match the columns" in browser.get(upload.headers["Location"]).text
    assert _stored_events(org) == ["paused-1", "paused-2", "stopped-1", "stopped-2"]
    with scopes_disabled():
        assert AccountImport.objects.count() == 2


def test_what_waited_in_the_outbox_is_sent_once_redis_is_back(redis_server, env, web, org, tmp_path):
    mail_dir = tmp_path / "mail"
    browser = Browser(web)
    browser.sign_in("admin@flowfuse.example")
    with processes.celery_worker(**env) as worker:
        redis_server.pause()
        _waiting(_invite(browser, "first@flowfuse.example"))
        redis_server.resume()
        redis_server.stop()
        _waiting(_invite(browser, "second@flowfuse.example"))
        redis_server.start()
        assert processes.mails(mail_dir) == []

        # A minute on, beat sends outbox-send; the worker, up through both outages, runs it.
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        called = processes.celery("call", "cs_platform.send_outbox", **env)
        assert called.returncode == 0, called.stderr
        processes.wait_until(lambda: len(processes.mails(mail_dir)) == 2, lambda: "Mail missing. The worker's output:\n" + worker.output)
        mails = {re.search(r"^To: (\S+)$", text, re.M)[1]: text for text in processes.mails(mail_dir)}
        assert set(mails) == {"first@flowfuse.example", "second@flowfuse.example"}
        processes.wait_until(lambda: not OutboxMessage.objects.exists(), "Sent tasks stayed in the outbox.")
    link = re.search(r"http://[^/\s]+(/invitations/\S+/)", mails["first@flowfuse.example"])[1]
    assert "Join FlowFuse" in requests.get(web + link, timeout=REQUEST_DEADLINE_SECONDS).text


def test_send_outbox_says_so_when_the_broker_takes_nothing(redis_server, env, org):
    with scope(organization=org):
        invitation = Invitation.objects.create(organization=org, email="new@flowfuse.example", role=Role.CSM, token_hash="h")
    # As a failed send leaves it (sent here, it would go at once: this process runs tasks eagerly).
    OutboxMessage.objects.create(task="cs_platform.send_invitation_email", args=[org.id, invitation.pk], next_attempt_at=timezone.now())
    redis_server.stop()
    result = processes.manage("send_outbox", **env)
    assert result.returncode == 1
    assert "The broker did not take a task" in result.stderr and "1 wait in the outbox" in result.stderr
    assert "Check that Redis is up and REDIS_URL points at it" in result.stderr
    message = OutboxMessage.objects.get()
    assert (message.sent_at, message.attempts) == (None, 1)
    assert message.next_attempt_at > timezone.now() and "Connection refused" in message.last_error
