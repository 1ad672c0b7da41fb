"""Run Tend in the foreground: web (gunicorn), Celery worker and beat, until Ctrl-C.

``make demo`` runs ``serve --seed-demo``; ``make run`` runs ``serve``. This process
holds the embedded servers' lease (when no URLs are configured) for as long as it
runs, so they outlive restarts of its children and stop when it stops.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cs_platform import banner, embedded

STOP_GRACE_SECONDS = 20


class Command(BaseCommand):
    help = "Migrate, then run web + Celery worker + beat in the foreground until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--seed-demo", action="store_true", help="Rebuild the demo organizations first.")
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))

    def handle(self, *args, seed_demo: bool, host: str, port: int, web_workers: int, **options) -> None:
        if _port_taken(host, port):
            self.stderr.write(f"Port {port} on {host} is in use. Stop what runs there, or set PORT=8001.")
            sys.exit(1)
        call_command("migrate", interactive=False, verbosity=0)
        # WhiteNoise serves compressed, fingerprinted files from STATIC_ROOT, as in production.
        call_command("collectstatic", interactive=False, verbosity=0)
        if seed_demo:
            call_command("seed_demo", stdout=self.stdout)

        python = sys.executable
        commands = {
            "web": [
                python, "-m", "gunicorn", "-c", "python:cs_platform.gunicorn_conf",
                "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", "4",
                "--graceful-timeout", "10",
            ],
            "worker": [python, "-m", "celery", "-A", "cs_platform", "worker", "--loglevel", "INFO", "--concurrency", "2"],
            "beat": [python, "-m", "celery", "-A", "cs_platform", "beat", "--loglevel", "INFO"],
        }
        children: dict[str, subprocess.Popen] = {}
        # Children get their own process group: Ctrl-C reaches only us, and we stop
        # them in order (web first, so no request is cut off mid-way by a dead worker).
        for name, command in commands.items():
            children[name] = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
            )
            threading.Thread(target=_relay, args=(name, children[name]), daemon=True).start()

        stopping = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        if _wait_for_port(host, port, children["web"], stopping):
            self._banner(f"http://{host}:{port}")
        while not stopping.is_set():
            exited = [name for name, child in children.items() if child.poll() is not None]
            if exited:
                self.stderr.write(f"{', '.join(exited)} stopped unexpectedly; stopping everything.")
                break
            stopping.wait(0.5)
        self.stdout.write("Stopping web, worker and beat…")
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded.leased():
            # Given back when this process exits; it is the last lease, so they stop.
            self.stdout.write("Stopping the embedded servers…")
        self.stdout.write("Stopped.")

    def _banner(self, url: str) -> None:
        lines = ["", f"  Tend is running at {url}", ""]
        extra = banner.lines()
        lines += extra or [
            "  No demo data: run `make demo`, or create an organization with",
            "  `python manage.py create_organization --name … --slug … --admin-email …`.",
        ]
        lines += ["", "  Press Ctrl-C to stop web, worker, beat and the embedded servers.", ""]
        self.stdout.write("\n".join(lines))


def _relay(name: str, child: subprocess.Popen) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        sys.stdout.write(f"[{name}] {line}")
        sys.stdout.flush()


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def _wait_for_port(host: str, port: int, web: subprocess.Popen, stopping: threading.Event) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not stopping.is_set() and web.poll() is None:
        if _port_taken(host, port):
            return True
        time.sleep(0.2)
    return False
