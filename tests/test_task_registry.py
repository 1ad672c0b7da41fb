"""A fresh worker (and a fresh ``send_outbox``, which registers tasks the same way) knows every
task Tend defines or schedules: tasks sit beside their services, so a module no ``tasks.py``
imports would leave its tasks unknown to workers, and their outbox rows unsent for ever."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests import processes

APPS = ("cs_platform", "accounts", "usage", "integrations", "health", "onboarding", "tickets", "qbr", "churn", "api")
_DEFINED = re.compile(r"@shared_task\([^)]*name=\"([\w.]+)\"")
_REGISTERED_BY_A_FRESH_PROCESS = """
import json, django
django.setup()
from cs_platform.celery import app
app.loader.import_default_modules()  # what a worker does on start, and the outbox's sender
print(json.dumps(sorted(name for name in app.tasks if not name.startswith("celery."))))
"""


def _defined_in_source() -> set[str]:
    root = Path(settings.BASE_DIR)
    return {
        name
        for app in APPS
        for path in (root / app).rglob("*.py")
        if "tests" not in path.parts
        for name in _DEFINED.findall(path.read_text())
    }


def test_a_fresh_worker_knows_every_task_defined_or_scheduled():
    run = subprocess.run(
        [sys.executable, "-c", _REGISTERED_BY_A_FRESH_PROCESS], cwd=settings.BASE_DIR, env=processes.child_env(),
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    registered = set(json.loads(run.stdout.strip().splitlines()[-1]))
    defined = _defined_in_source()
    assert len(defined) >= 10, "the source scan found too few tasks to be reading the code"
    assert defined - registered == set(), "import these tasks' modules from their app's tasks.py"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled - registered == set(), "beat schedules tasks no worker knows"
