"""`make demo`'s runner end to end: embedded servers, web + worker + beat, demo logins, clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

from django.conf import settings

from cs_platform import embedded
from demo.people import DEMO_PASSWORD
from tests import processes


def test_serve_runs_the_seeded_demo_and_stops_everything_on_ctrl_c(tmp_path):
    home, port = tmp_path / "tend", processes.free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    # The smallest demo: this is about the runner, not the data (demo/tests has those).
    env.update(TEND_HOME=str(home), PORT=str(port), WEB_CONCURRENCY="1", TEND_TESTING="0", TEND_DEMO_SCALE="0.1")
    runner = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--seed-demo"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    banner, worker_ready, beat_ready = threading.Event(), threading.Event(), threading.Event()

    def read() -> None:
        for line in runner.stdout:
            output.append(line)
            if "Tend is running at" in line:
                banner.set()
            if line.startswith("[worker]") and " ready." in line:
                worker_ready.set()
            if line.startswith("[beat]") and "beat: Starting" in line:
                beat_ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert banner.wait(180), "serve never printed its address:\n" + "".join(output)
        assert worker_ready.wait(60) and beat_ready.wait(60), "".join(output)
        text = "".join(output)
        assert f"http://127.0.0.1:{port}" in text and "csm@flowfuse.example" in text and DEMO_PASSWORD in text

        # A demo login works against the real server.
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{port}"
        opener.open(f"{base}/auth/login/").read()
        csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
        form = urlencode({"username": "csm@flowfuse.example", "password": DEMO_PASSWORD, "csrfmiddlewaretoken": csrf})
        request = urllib.request.Request(f"{base}/auth/login/", data=form.encode(), headers={"Referer": base + "/auth/login/"})
        page = opener.open(request)
        assert page.url == f"{base}/o/flowfuse/accounts/"
        assert "Sofia Marin" in page.read().decode()
    finally:
        runner.send_signal(signal.SIGINT)  # what Ctrl-C delivers
        runner.wait(60)
        reader.join(5)
    assert runner.returncode == 0, "".join(output)
    assert "Stopped." in "".join(output)
    assert not (home / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
    assert not embedded._redis_ping(embedded._redis_socket(home)), "embedded Redis still running"
    assert (home / "leases.json").read_text() == "[]"
