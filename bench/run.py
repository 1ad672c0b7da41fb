"""Run Tend's benchmarks: every ``bench/bench_*.py``, or the one named on the command line.

Each benchmark module has ``run() -> Iterable[dict]``; every dict is printed as one JSON
line with its ``name``, its figures and its ``ratio`` to a floor measured in the same run.
Benchmarks run against a throwaway database (``test_<name>``) on the configured or
embedded PostgreSQL, never against the demo's data.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Test-mode settings: static files from the apps (no collectstatic needed), its own Celery queue.
os.environ.setdefault("TEND_TESTING", "1")


def main(only: str | None) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    names = sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))
    if only:
        if only not in names:
            print(f"No benchmark named {only!r}; there are: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [only]
    # Not setup_test_environment(): it instruments every template render, which would
    # put the test harness's cost into the figures. The test client only needs its host.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # Its own database, so a benchmark never touches the demo's or the test suite's.
    connection.settings_dict["TEST"]["NAME"] = "tend_bench"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        for name in names:
            module = importlib.import_module(f"bench.bench_{name}")
            for result in module.run():
                print(json.dumps(result), flush=True)
    finally:
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
