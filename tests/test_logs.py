"""No key, token or password reaches a log, and a refused request is logged as one line."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager

import pytest
from django.conf import settings
from django_scopes import scope

from api.services import api_token_create
from cs_platform.logs import ClientErrorsOnOneLine
from usage.services import write_key_create
from tests import processes


def _request(url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(), "Content-Type": "application/json"}


@pytest.mark.django_db(transaction=True)
def test_a_real_servers_log_has_no_write_key_token_or_link_token(org, admin):
    with scope(organization=org):
        _, write_key = write_key_create(organization=org, actor=admin, label="Web app")
        _, api_token = api_token_create(organization=org, actor=admin, label="Warehouse")
    wrong_key = "tendwk_" + secrets.token_urlsafe(32)  # a typo'd key is as secret as the real one
    link_token = secrets.token_urlsafe(32)
    batch = json.dumps({"batch": [{"type": "track", "userId": "u1", "event": "Flow Deployed", "messageId": "m1"}]})

    with processes.gunicorn() as (base, server):
        assert _request(f"{base}/v1/batch", headers=_basic(write_key), body=batch.encode()) == 200
        assert _request(f"{base}/v1/batch", headers=_basic(wrong_key), body=batch.encode()) == 401
        assert _request(f"{base}/api/v1/accounts", headers={"Authorization": f"Bearer {api_token}"}) == 200
        assert _request(f"{base}/api/v1/accounts?token={api_token}&writeKey={write_key}") == 401
        assert _request(f"{base}/invitations/{link_token}/") == 404
        assert server.wait_for('"GET /invitations/'), server.output
    log = server.output

    for secret in (write_key, wrong_key, api_token, link_token, _basic(write_key)["Authorization"].split()[1]):
        assert secret not in log
    # The log is there, only without the secrets.
    assert '"POST /v1/batch HTTP/1.1" 200' in log and '"GET /api/v1/accounts HTTP/1.1" 401' in log
    assert "Not Found: /invitations/[redacted]/" in log


@contextmanager
def _console_log():
    """What the configured console handler writes while the block runs."""
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, ClientErrorsOnOneLine) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_secrets_are_redacted_from_message_arguments_and_tracebacks(org, admin):
    with scope(organization=org):
        _, write_key = write_key_create(organization=org, actor=admin, label="Web app")
        _, api_token = api_token_create(organization=org, actor=admin, label="Warehouse")
    logger = logging.getLogger("tend.test")
    with _console_log() as log:
        logger.warning("Connector failed on %s", "postgresql://reader:hunter2-Secret@db.example:5432/product")
        logger.warning("Connecting with %s", "host=db.example user=reader password=hunter2-Secret")
        logger.warning("Request %(meta)s", {"meta": {"HTTP_AUTHORIZATION": "Basic dGVuZHdrX3NlY3JldDo=", "PATH": "/v1"}})
        logger.warning("Headers: Authorization: Bearer %s", api_token)
        try:
            raise ValueError(f"bad key {write_key}")
        except ValueError:
            logger.exception("Ingestion failed")
    text = log.getvalue()
    for secret in ("hunter2-Secret", "dGVuZHdrX3NlY3JldDo=", api_token, write_key, write_key.removeprefix("tendwk_")):
        assert secret not in text
    assert "postgresql://reader:[redacted]@db.example:5432/product" in text
    assert "password=[redacted]" in text
    assert "ValueError: bad key tendwk_[redacted]" in text and "Traceback" in text


def test_a_permission_denial_is_logged_as_one_line(client, csm):
    client.force_login(csm)
    with _console_log() as log:
        assert client.get("/o/flowfuse/settings/members/").status_code == 403
    lines = log.getvalue().splitlines()
    assert lines == [line for line in lines if "Forbidden (Permission denied): /o/flowfuse/settings/members/" in line]
    assert len(lines) == 1


def test_a_management_command_redacts_what_it_logs(db):
    code = "import logging; logging.getLogger('tend').warning('using redis://:hunter2-Secret@cache:6379/0')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR, env=processes.child_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "using redis://:[redacted]@cache:6379/0" in result.stderr
    assert "hunter2-Secret" not in result.stdout + result.stderr
