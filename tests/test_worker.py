"""Celery end to end: a real worker process, the real broker, the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope

from cs_platform import celery_app, services
from cs_platform.models import Role


def _database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or "localhost"
    # A socket directory goes in percent-encoded, as dj-database-url expects.
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def real_worker(transactional_db, tmp_path):
    """A ``celery worker`` process on this test run's own queue, mailing into ``tmp_path``."""
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool", "solo",
         "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel", "INFO", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in worker.stdout:
            output.append(line)
            if " ready." in line:
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(60), "The Celery worker did not start:\n" + "".join(output)
    celery_app.conf.task_always_eager = False
    try:
        yield mail_dir, output
    finally:
        celery_app.conf.task_always_eager = True
        worker.terminate()
        worker.wait(20)


@pytest.mark.worker
def test_a_real_worker_mails_the_invitation_once_it_is_committed(real_worker, org, admin):
    mail_dir, output = real_worker
    with scope(organization=org):
        services.invitation_create(organization=org, actor=admin, email="new.ae@flowfuse.example", role=Role.AE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (mail_dir.exists() and any(mail_dir.iterdir())):
        time.sleep(0.1)
    files = list(mail_dir.iterdir()) if mail_dir.exists() else []
    assert files, "No mail from the worker. Its output:\n" + "".join(output)
    message = Path(files[0]).read_text()
    assert "To: new.ae@flowfuse.example" in message
    assert "invited you to join FlowFuse on Tend as Account executive" in message
    assert "/invitations/" in message
    assert any("succeeded" in line for line in output)


@pytest.mark.worker
def test_a_real_worker_rolls_up_ingested_usage(real_worker, org, admin, client):
    """What beat does every minute: rollup_due finds the dirty organization and a worker rolls it up."""
    import base64
    import json

    from accounts.models import Account, AccountExternalId
    from integrations.models import AccountUsage, UsageDaily
    from integrations.services import write_key_create
    from integrations.tasks import rollup_due

    _, output = real_worker
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
        assert AccountUsage.objects.filter(account=account, events_7d=5, active_users_7d=2).exists(), "".join(output)
        assert UsageDaily.objects.get(account=account, metric="events").value == 5
