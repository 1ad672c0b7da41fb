"""The zero-install default: embedded PostgreSQL and Redis, shared by lease, stopped by the last user."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from django.conf import settings

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from cs_platform import embedded
    servers = embedded.lease(Path(sys.argv[1]))
    print("leased", flush=True)
    sys.stdin.read()  # hold the lease until the test closes our stdin
    """
)


def _env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    return {**env, "TEND_HOME": str(home), "TEND_TESTING": "0"}


def _running(home: Path) -> tuple[bool, bool]:
    from cs_platform import embedded

    postgres = (home / "postgres" / "postmaster.pid").exists()
    return postgres, embedded._redis_ping(embedded._redis_socket(home))


def test_a_command_joins_running_servers_and_one_alone_starts_and_stops_them(tmp_path):
    home = tmp_path / "tend"
    manage = [sys.executable, str(settings.BASE_DIR / "manage.py"), "showmigrations", "cs_platform"]

    # Like `make demo`: one process holds the servers...
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home)], cwd=settings.BASE_DIR, env=_env(home),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "leased"
        assert _running(home) == (True, True)
        # ...and a management command beside it uses them, leaving them up when it exits.
        beside = subprocess.run(manage, cwd=settings.BASE_DIR, env=_env(home), capture_output=True, text=True, timeout=120)
        assert beside.returncode == 0, beside.stderr
        assert "[ ] 0001_initial" in beside.stdout
        assert _running(home) == (True, True)
    finally:
        holder.stdin.close()
        holder.wait(30)
    # The last lease given back stops both.
    assert _running(home) == (False, False)

    # A command on its own starts them and stops them again; the data stays under TEND_HOME.
    alone = subprocess.run(manage, cwd=settings.BASE_DIR, env=_env(home), capture_output=True, text=True, timeout=120)
    assert alone.returncode == 0, alone.stderr
    assert _running(home) == (False, False)
    assert (home / "postgres" / "PG_VERSION").exists()
    assert (home / "leases.json").read_text() == "[]"
