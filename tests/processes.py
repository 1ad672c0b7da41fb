"""Real processes for tests: a gunicorn web server and a Celery worker on the test database.

Each runs with the test run's own database, Redis and Celery queue, and its output is
collected line by line, so a test can wait for a line and read what the process logged.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Iterator
from urllib.parse import quote

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The URL of the database this test process uses, for a child process."""
    db = connection.settings_dict
    host = db["HOST"] or "localhost"
    # A socket directory goes in percent-encoded, as dj-database-url expects.
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{host}{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a Tend process on this test run's database, Redis and queue."""
    # The browser tests' async-guard switch is for this process's Playwright, not a child's.
    inherited = {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **inherited,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        **extra,
    }


class Process:
    """A child process whose combined output is read into ``lines`` as it comes."""

    def __init__(self, command: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.popen = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, text: str, timeout: float = 60) -> bool:
        """Whether a line containing ``text`` appeared within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if left <= 0 or self.popen.poll() is not None:
                    return any(text in line for line in self.lines)
                self._changed.wait(min(left, 0.5))
        return True

    def stop(self, timeout: float = 20) -> str:
        """Stop the process (SIGTERM, then SIGKILL) and return all it printed."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._reader.join(5)  # the last lines, read once the pipe closes
        return self.output


@contextlib.contextmanager
def gunicorn(**env: str) -> Iterator[tuple[str, Process]]:
    """Tend's web process as production runs it (``cs_platform/gunicorn_conf.py``); yields its URL."""
    port = free_port()
    server = Process(
        [sys.executable, "-m", "gunicorn", "-c", "python:cs_platform.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
        child_env(TEND_TESTING="1", **env),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.popen.poll() is None, "gunicorn exited:\n" + server.output
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s:\n" + server.output
            try:
                with urllib.request.urlopen(f"{base}/healthz/", timeout=5):
                    break
            except OSError:
                time.sleep(0.2)
        yield base, server
    finally:
        server.stop()


@contextlib.contextmanager
def celery_worker(**env: str) -> Iterator[Process]:
    """A ``celery worker`` process on this test run's own queue, ready for tasks."""
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool", "solo",
         "--queues", settings.CELERY_TASK_DEFAULT_QUEUE, "--loglevel", "INFO", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        child_env(CELERY_TASK_ALWAYS_EAGER="0", **env),
    )
    try:
        assert worker.wait_for(" ready."), "The Celery worker did not start:\n" + worker.output
        yield worker
    finally:
        worker.stop()
