"""Celery end to end: a real worker process, the real broker, the test database."""

from __future__ import annotations

import time

import pytest
from django_scopes import scope

from cs_platform import services
from cs_platform.models import OutboxMessage, Role
from tests import processes


@pytest.mark.worker
def test_a_real_worker_mails_the_invitation_once_it_is_committed(real_worker, org, admin):
    mail_dir, worker = real_worker
    with scope(organization=org):
        services.invitation_create(organization=org, actor=admin, email="new.ae@flowfuse.example", role=Role.AE)
    # A whole message, not a file just created: the file backend writes it in several steps.
    processes.wait_until(lambda: processes.mails(mail_dir), lambda: "No mail from the worker. Its output:\n" + worker.output)
    [message] = processes.mails(mail_dir)
    assert "To: new.ae@flowfuse.example" in message
    assert "invited you to join FlowFuse on Tend as Account executive" in message
    assert "/invitations/" in message
    # The task ran, so its outbox row is gone.
    processes.wait_until(lambda: not OutboxMessage.objects.exists(), "The outbox row outlived its task.")


@pytest.mark.worker
def test_a_real_worker_rolls_up_ingested_usage(real_worker, org, admin, client):
    """What beat does every minute: rollup_due finds the dirty organization and a worker rolls it up."""
    import base64
    import json

    from accounts.models import Account, AccountExternalId
    from usage.models import AccountUsage, UsageDaily
    from usage.services import write_key_create
    from usage.tasks import rollup_due

    _, worker = real_worker
    with scope(organization=org):
        account = Account.objects.create(organization=org, name="Worker Farms")
        AccountExternalId.objects.create(organization=org, account=account, source="product", external_id="wf-1")
        _, key = write_key_create(organization=org, actor=admin, label="worker test")
    batch = [
        {"type": "track", "userId": f"u{n % 2}", "event": "Flow Deployed", "messageId": f"w{n}", "context": {"groupId": "wf-1"}}
        for n in range(5)
    ]
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    response = client.post("/v1/batch", json.dumps({"batch": batch}), content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    rollup_due.delay()
    deadline = time.monotonic() + 30
    with scope(organization=org):
        while time.monotonic() < deadline and not AccountUsage.objects.filter(account=account, events_7d=5).exists():
            time.sleep(0.2)
        assert AccountUsage.objects.filter(account=account, events_7d=5, active_users_7d=2).exists(), worker.output
        assert UsageDaily.objects.get(account=account, metric="events").value == 5
