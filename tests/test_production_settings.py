"""A production start refuses a known or weak SECRET_KEY, and the documented settings pass Django's deploy check."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from cs_platform.production import DEVELOPMENT_SECRET_KEY, secret_key_problem
from tests import processes

ENV_EXAMPLE = settings.BASE_DIR / ".env.example"


def _example_settings(*, https: bool) -> dict[str, str]:
    """.env.example's settings; with ``https``, also the block it says to uncomment behind HTTPS."""
    values, in_https_block = {}, False
    for line in ENV_EXAMPLE.read_text().splitlines():
        if "Behind an HTTPS proxy" in line:
            in_https_block = True
        elif match := re.fullmatch(r"([A-Z_]+)=(.*)", line):
            values[match[1]] = match[2]
        elif https and in_https_block and (match := re.fullmatch(r"# ([A-Z_]+)=(.*)", line)):
            values[match[1]] = match[2]
    return values


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=processes.child_env(**env),
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="unset"),
        pytest.param(DEVELOPMENT_SECRET_KEY, id="the development key"),
        pytest.param(_example_settings(https=False)["SECRET_KEY"], id="the example's"),
        pytest.param(secrets.token_urlsafe(20), id="random but short"),
        pytest.param("ab" * 40, id="long but two characters"),
        pytest.param("please-changeme-" + secrets.token_urlsafe(40), id="a placeholder word"),
    ],
)
def test_placeholder_short_and_repetitive_keys_are_refused_with_how_to_make_one(key):
    problem = secret_key_problem(key)
    assert problem is not None and problem.startswith("SECRET_KEY ")
    assert "python -c 'import secrets; print(secrets.token_urlsafe(50))'" in problem


def test_a_random_key_is_accepted():
    assert secret_key_problem(secrets.token_urlsafe(50)) is None
    assert secret_key_problem(secrets.token_hex(32)) is None


def test_production_refuses_to_start_with_the_examples_key(db):
    result = _manage("check", TEND_PRODUCTION="1", SECRET_KEY=_example_settings(https=False)["SECRET_KEY"])
    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder published with Tend" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr


def test_the_documented_production_settings_pass_the_deploy_check(db):
    documented = {**_example_settings(https=True), "SECRET_KEY": secrets.token_urlsafe(50)}
    assert documented["SECURE_SSL_REDIRECT"] == "true"  # the HTTPS block was read
    result = _manage("check", "--deploy", "--fail-level", "WARNING", TEND_PRODUCTION="1", **documented)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
