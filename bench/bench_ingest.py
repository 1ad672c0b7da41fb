"""What product-usage ingestion and its rollups cost at volume.

- ``ingest.copy_floor``: a bare PostgreSQL ``COPY`` of as many equivalent rows into the
  same partitioned table: the most any path into it could do on this machine.
- ``ingest.http``: Segment ``/v1/batch`` requests (100 events each) through gunicorn, as a
  product would send them, for ``BENCH_INGEST_SECONDS``; ``ratio`` is its events/s over
  the floor's rows/s. Afterwards, SQL checks every acknowledged event was stored.
- ``ingest.profile``: where a request's time goes, in-process under cProfile, plus the
  request's pieces timed alone (JSON, checks, the store statement).
- ``ingest.rollup_*``: ``BENCH_ROLLUP_EVENTS`` events over ~1,000 accounts and 90 days,
  rolled up (``rollup_dirty_days``) and turned into account metrics
  (``account_usage_refresh``), against one bare ``GROUP BY`` over the same rows.

The server is a gunicorn subprocess on the benchmark's database; it shares the machine
with PostgreSQL and the client processes, which send pre-encoded bodies and nothing else.
``BENCH_INGEST_WORKERS`` / ``_THREADS`` / ``_CLIENTS`` / ``_WORKER_CLASS`` shape the run.
"""

from __future__ import annotations

import cProfile
import datetime as dt
import multiprocessing
import os
import pstats
import queue
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account, AccountExternalId
from bench import ingest_client
from cs_platform.models import Organization
from usage import partitions
from usage.ingest import parse, store
from usage.ingest import views as views_ingest
from usage.models import DirtyDay, EventDefinition, EventRole
from usage.services import write_key_create
from tests.processes import database_url, free_port

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = int(os.environ.get("BENCH_INGEST_ACCOUNTS", 1_000))
SECONDS = float(os.environ.get("BENCH_INGEST_SECONDS", 15))
WARMUP_SECONDS = float(os.environ.get("BENCH_INGEST_WARMUP", 3))
WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", 2))
THREADS = int(os.environ.get("BENCH_INGEST_THREADS", 2))
WORKER_CLASS = os.environ.get("BENCH_INGEST_WORKER_CLASS", "gthread")
CLIENTS = int(os.environ.get("BENCH_INGEST_CLIENTS", 4))
# Extra gunicorn arguments, e.g. ``-c /tmp/patch.py`` to try a change to the server in a run.
GUNICORN_ARGS = os.environ.get("BENCH_INGEST_GUNICORN_ARGS", "").split()
PROFILE_REQUESTS = int(os.environ.get("BENCH_PROFILE_REQUESTS", 1_000))
ROLLUP_EVENTS = int(os.environ.get("BENCH_ROLLUP_EVENTS", 10_000_000))
ROLLUP_DAYS = 90
ROLLUP_CHUNK = 1_000_000  # rows per INSERT … SELECT: each covers its own slice of time

COLUMNS = (
    "organization_id, timestamp, received_at, type, event, user_id, anonymous_id, group_id, "
    "account_id, message_id, source, properties"
)
FEATURES = ["Flow Deployed", "Flow Edited", "Node Added", "Snapshot Created", "Pipeline Run", "Library Imported",
            "Device Registered", "Team Invited"]


def run() -> Iterator[dict]:
    organization, account_ids = _organization("Bench Ingest", "bench-ingest")
    with scope(organization=organization):
        _, write_key = write_key_create(organization=organization, actor=None, label="Bench")

    http = _ingest_http(organization, write_key)
    floor = _copy_floor(http["events"], account_ids)
    yield {"name": "ingest.copy_floor", **floor, "ratio": 1.0}
    ratio = round(http["events_per_s"] / floor["rows_per_s"], 3)
    yield {"name": "ingest.http", **http, "ratio": ratio, "floor": "copy_floor"}
    yield {"name": "ingest.profile", **_profile(organization, write_key)}
    yield from _rollups()


# --- Setup ------------------------------------------------------------------------------


def _organization(name: str, slug: str) -> tuple[Organization, list[int]]:
    """An organization with ``ACCOUNTS`` accounts, each with a product external id."""
    organization = Organization.objects.create(name=name, slug=slug)
    with scope(organization=organization):
        accounts = Account.objects.bulk_create(
            [Account(organization=organization, name=f"Customer {n:05d}") for n in range(ACCOUNTS)], batch_size=1000
        )
        AccountExternalId.objects.bulk_create(
            [
                AccountExternalId(organization=organization, account=account, source="product",
                                  external_id=ingest_client.external_id(n))
                for n, account in enumerate(accounts)
            ],
            batch_size=1000,
        )
    with connection.cursor() as cursor:
        # As in any running install, where these tables are long established: fresh
        # tables' default estimates (one row) would send the planner down nested loops.
        cursor.execute("ANALYZE accounts_account, accounts_accountexternalid")
    return organization, [account.pk for account in accounts]


# --- HTTP ---------------------------------------------------------------------------------


def _ingest_http(organization: Organization, write_key: str) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cs_platform.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "USAGE_RATE_LIMIT_PER_SECOND": str(10**9),
        "DEBUG": "0",
        "TEND_TESTING": "1",  # static files from the apps: no collectstatic
    }
    log = tempfile.NamedTemporaryFile(prefix="bench-ingest-gunicorn-", suffix=".log", delete=False)
    command = [
        # Production's settings, access log (to this log file) included.
        sys.executable, "-m", "gunicorn", "-c", "python:cs_platform.gunicorn_conf", "--bind", f"127.0.0.1:{port}",
        "--workers", str(WORKERS), "--worker-class", WORKER_CLASS, "--threads", str(THREADS),
        "--keep-alive", "10", "--log-level", "warning", *GUNICORN_ARGS,
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(server, port, log.name)
        workers = _children(server.pid)
        cpu_before = _cpu_snapshot(workers, _backends())
        figures = _drive(port, write_key)
        cpu = _cpu_used(cpu_before, _cpu_snapshot(workers, _backends()), figures)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE account_id IS NULL) "
            "FROM integrations_usageevent WHERE organization_id = %s",
            [organization.id],
        )
        stored, unmatched = cursor.fetchone()
    acknowledged = figures.pop("acknowledged_events")
    # Fail loudly: a throughput of refused or lost events would be a figure about nothing.
    assert stored == acknowledged, f"{acknowledged} events acknowledged but {stored} stored"
    assert unmatched == 0, f"{unmatched} events stored without their account"
    connections = "keep-alive" if WORKER_CLASS == "gthread" else "(closes connections)"
    server_kind = f"gunicorn {WORKER_CLASS} {WORKERS}x{THREADS} {connections}"
    return {**figures, "stored_events_checked": stored, "server": server_kind, "clients": CLIENTS, "cpu": cpu}


def _wait_until_up(server: subprocess.Popen, port: int, log: str) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}: {Path(log).read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s: {Path(log).read_text()[-2000:]}")


def _drive(port: int, write_key: str) -> dict:
    """Run the client processes; events/s and latencies of the 200s after the warm-up."""
    context = multiprocessing.get_context("spawn")  # the clients inherit no Django, no connection
    ready = [context.Event() for _ in range(CLIENTS)]
    results = context.Queue()
    clock = context.Array("d", [0.0, 0.0])  # start_at, stop_at: set once every client has encoded its bodies
    processes = [
        context.Process(
            target=ingest_client.send_loop,
            args=(client, "127.0.0.1", port, write_key, ACCOUNTS, clock, ready[client], results),
        )
        for client in range(CLIENTS)
    ]
    for process in processes:
        process.start()
    deadline = time.time() + 120
    while not all(event.is_set() for event in ready):
        if any(process.exitcode is not None for process in processes) or time.time() > deadline:
            for process in processes:
                process.terminate()
            raise RuntimeError("a client process died or did not get ready in 120 s")
        time.sleep(0.05)
    start_at = time.time() + 0.2
    measured_from = start_at + WARMUP_SECONDS
    stop_at = measured_from + SECONDS
    clock[1] = stop_at
    clock[0] = start_at
    collected = []
    for _ in processes:
        try:
            collected.append(results.get(timeout=SECONDS + WARMUP_SECONDS + 120))
        except queue.Empty:
            raise RuntimeError("a client did not report") from None
    for process in processes:
        process.join(10)

    samples = [sample for _, client_samples, _, _ in collected for sample in client_samples]
    errors = [error for _, _, client_errors, _ in collected for error in client_errors]
    ok_all = sum(1 for _, _, status in samples if status == 200)
    window = [
        (ended, seconds) for ended, seconds, status in samples if status == 200 and measured_from <= ended < stop_at
    ]
    failed = len(samples) - ok_all
    if failed > len(samples) / 2:
        raise RuntimeError(f"{failed} of {len(samples)} requests failed; first errors: {errors}")
    latencies = sorted(seconds * 1000 for _, seconds in window)
    events = len(window) * ingest_client.EVENTS_PER_BODY
    return {
        "seconds": SECONDS,
        "events_per_s": round(events / SECONDS),
        "requests_per_s": round(len(window) / SECONDS, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1], 2),
        "events": events,
        "errors": failed,
        "error_sample": errors[:3],
        "acknowledged_events": ok_all * ingest_client.EVENTS_PER_BODY,
        "events_per_request": ingest_client.EVENTS_PER_BODY,
        "body_bytes": len(ingest_client.segment_bodies(client=0, accounts=ACCOUNTS, count=1)[0]),
        "client_cpu_seconds": sum(cpu for *_, cpu in collected),
        "requests_sent": len(samples),
    }


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _backends() -> list[int]:
    """PostgreSQL backends connected to the benchmark's database (the server's pool)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [row[0] for row in cursor.fetchall()]


def _cpu_snapshot(workers: list[int], backends: list[int]) -> dict:
    jiffies = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(jiffies) - jiffies[3] - jiffies[4]  # all but idle and iowait
    return {
        "busy": busy / os.sysconf("SC_CLK_TCK"), "at": time.time(),
        "workers": sum(_process_cpu(pid) for pid in workers),
        "backends": {pid: _process_cpu(pid) for pid in backends},
    }


def _cpu_used(before: dict, after: dict, figures: dict) -> dict:
    """Cores busy during the run (warm-up included), by whom, and CPU milliseconds a request.

    Backends opened during the run count from zero; what is left of ``busy_cores`` is
    PostgreSQL's background writers, the kernel and anything else on the machine.
    """
    wall = after["at"] - before["at"]
    requests = figures.pop("requests_sent") or 1
    gunicorn = after["workers"] - before["workers"]
    postgres = sum(cpu - before["backends"].get(pid, 0.0) for pid, cpu in after["backends"].items())
    clients = figures.pop("client_cpu_seconds")
    busy = after["busy"] - before["busy"]
    return {
        "cores": os.cpu_count(), "busy_cores": round(busy / wall, 2),
        "gunicorn_cores": round(gunicorn / wall, 2), "postgres_backend_cores": round(postgres / wall, 2),
        "client_cores": round(clients / wall, 2),
        "other_cores": round((busy - gunicorn - postgres - clients) / wall, 2),
        "cpu_ms_per_request": {
            "gunicorn": round(gunicorn / requests * 1000, 2), "postgres": round(postgres / requests * 1000, 2),
            "client": round(clients / requests * 1000, 2),
        },
    }


# --- COPY floor ------------------------------------------------------------------------------


def _copy_floor(rows: int, account_ids: list[int]) -> dict:
    """``rows`` rows like the HTTP run's, by one bare COPY into the same table (its own organization)."""
    rows = max(rows, 100_000)
    organization = Organization.objects.create(name="Bench Copy Floor", slug="bench-copy-floor")
    bodies = ingest_client.segment_bodies(client=999, accounts=len(account_ids), count=50)
    messages = [message for body in bodies for message in orjson.loads(body)["batch"]]
    received = timezone.now().isoformat()
    lines = []
    for n in range(rows):
        message = messages[n % len(messages)]
        account = int(message["context"]["groupId"].removeprefix("acct-"))
        lines.append("\t".join((
            str(organization.id), message["timestamp"], received, "track", message["event"], message["userId"], "",
            message["context"]["groupId"], str(account_ids[account]), f"floor-{n}", "segment",
            orjson.dumps(message["properties"]).decode(),
        )))
    data = ("\n".join(lines) + "\n").encode()
    chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]  # COPY splits rows across writes
    del lines
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY integrations_usageevent ({COLUMNS}) FROM STDIN") as copy:
            for chunk in chunks:
                copy.write(chunk)
    seconds = time.perf_counter() - started
    return {
        "rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds), "mb": round(len(data) / 1e6, 1)
    }


# --- Profile -----------------------------------------------------------------------------------


PROFILE_BUCKETS = {
    # name: (file suffix, function) whose cumulative time makes the bucket
    "body_read": ("usage/ingest/views.py", "_body"),
    "auth_key_rate_last_used": ("usage/ingest/views.py", "_authorised"),
    "json_parse": ("usage/ingest/views.py", "_parse_json"),
    "oversize_check": ("usage/ingest/views.py", "_oversized"),
    "parse_segment": ("usage/ingest/parse.py", "parse_segment"),
    "store_messages": ("usage/ingest/store.py", "store_messages"),
    "store_statement": ("usage/ingest/store.py", "_execute_store"),
    "other_sql": ("django/db/backends/utils.py", "_execute"),  # through Django: the key's SELECT when not cached
    "response_json": ("usage/ingest/views.py", "_json"),
}


def _profile(organization: Organization, write_key: str) -> dict:
    """In-process: the request's pieces timed alone, then the share of each under cProfile
    (which inflates Python-heavy pieces, such as the ORM, against time spent waiting on SQL)."""
    client = Client()
    auth = ingest_client.basic_auth(write_key)
    bodies = ingest_client.segment_bodies(client=500, accounts=ACCOUNTS, count=40)
    counter = iter(range(10**9))

    def next_body() -> bytes:
        n = next(counter)
        return bodies[n % len(bodies)].replace(ingest_client.ROUND_TOKEN, b"%08x" % (n // len(bodies)))

    def post() -> None:
        response = client.post("/v1/batch", next_body(), content_type="application/json", HTTP_AUTHORIZATION=auth)
        assert response.status_code == 200, response.content[:300]

    for _ in range(50):
        post()
    request_ms = _median_ms(post, 300)

    now = timezone.now()
    json_ms = _median_ms(lambda: orjson.loads(bodies[0]), 300)
    key_ms = _median_ms(lambda: views_ingest._write_key(write_key), 300)  # cached per process for a few seconds
    batch = orjson.loads(bodies[0])["batch"]
    parse_ms = _median_ms(lambda: parse.parse_segment(batch, received_at=now), 300)
    # store_messages whole, and the store statement's execution alone inside it (its
    # parameters already built): PostgreSQL's part, round trip included, commit excluded.
    parsed = [parse.parse_segment(orjson.loads(next_body())["batch"], received_at=now).messages for _ in range(300)]
    statement_ms: list[float] = []
    execute_store = store._execute_store

    def timed_store(params: dict) -> tuple[int, int]:
        started = time.perf_counter()
        try:
            return execute_store(params)
        finally:
            statement_ms.append((time.perf_counter() - started) * 1000)

    store._execute_store = timed_store  # the store statement alone, timed from inside store_messages
    try:
        with scope(organization=organization):
            store_ms = _median_ms(
                lambda: store.store_messages(organization=organization, messages=parsed.pop(), source="segment"), 300
            )
    finally:
        store._execute_store = execute_store
    sql_ms = round(statistics.median(statement_ms), 3)

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(PROFILE_REQUESTS):
        post()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = _cumulative(stats, "django/core/handlers/base.py", "get_response")
    view = _cumulative(stats, "usage/ingest/views.py", "segment_batch")
    shares = {name: round(_cumulative(stats, *where) / total, 3) for name, where in PROFILE_BUCKETS.items()}
    shares["django_middleware_and_handler"] = round((total - view) / total, 3)
    return {
        "requests": PROFILE_REQUESTS,
        "in_process_request_p50_ms": request_ms,
        "alone_p50_ms": {
            "write_key_lookup": key_ms, "json_parse": json_ms, "parse_segment": parse_ms, "store_messages": store_ms,
            "store_sql_only": sql_ms,
        },
        "single_thread_events_per_s": {
            name: round(ingest_client.EVENTS_PER_BODY * 1000 / ms)
            for name, ms in (("request", request_ms), ("store_messages", store_ms), ("store_sql_only", sql_ms))
        },
        "cprofile_share_of_server_time": shares,
        "ratio": round(request_ms / sql_ms, 2),
        "floor": "store_sql_only",
    }


def _median_ms(call, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 3)


def _cumulative(stats: dict, file_suffix: str, function: str) -> float:
    return sum(
        entry[3] for (filename, _, name), entry in stats.items() if name == function and filename.endswith(file_suffix)
    )


# --- Rollups ---------------------------------------------------------------------------------------


# The generated mix: a name drawn from 100 slots, so each name's count is its weight in %.
EVENT_SLOTS = [name for name, weight in ingest_client.EVENT_MIX for _ in range(weight)]
USERS_PER_ACCOUNT = 12

_GENERATE_SQL = """
INSERT INTO integrations_usageevent ({columns})
SELECT %(org)s, g.ts, g.ts + interval '3 seconds', CASE WHEN g.event = 'Page Viewed' THEN 'page' ELSE 'track' END,
       g.event, 'user-' || g.a || '-' || g.u, '', 'acct-' || lpad(g.a::text, 5, '0'), (%(accounts)s::bigint[])[g.a + 1],
       'gen-' || g.i, 'segment',
       jsonb_build_object(
           'flowId', 'flow-' || to_hex(g.i), 'nodes', g.u * 7 + 1, 'durationMs', mod(g.i, 5000), 'plan', 'team',
           'region', 'eu-west-1', 'trigger', 'ui', 'success', true,
           'path', '/projects/' || g.a || '/flows/' || g.u || '/editor', 'version', '4.2.1'
       )
FROM (
    SELECT i,
           -- a few big accounts, a long tail (as the HTTP run's bodies)
           floor(%(account_count)s * random() ^ 2)::int AS a,
           floor(random() * %(users)s)::int AS u,
           (%(slots)s::text[])[1 + floor(random() * %(slot_count)s)::int] AS event,
           %(lo)s::timestamptz + random() * (%(hi)s::timestamptz - %(lo)s::timestamptz) AS ts
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i
) AS g
""".replace("{columns}", COLUMNS)


def _rollups() -> Iterator[dict]:
    from usage import rollups  # being written alongside: import what it has when the benchmark runs

    with connection.cursor() as cursor:  # the HTTP run's rows are not the rollup's business
        cursor.execute("TRUNCATE integrations_usageevent, integrations_seenmessage, integrations_dirtyday")
    organization, account_ids = _organization("Bench Rollup", "bench-rollup")
    with scope(organization=organization):
        EventDefinition.objects.bulk_create(
            [EventDefinition(organization=organization, role=EventRole.FEATURE, event_name=name) for name in FEATURES]
            + [EventDefinition(organization=organization, role=EventRole.LOGIN, event_name="Logged In"),
               EventDefinition(organization=organization, role=EventRole.API_CALL, event_name="API Call")]
        )
    today = dt.datetime.now(dt.UTC).date()
    first_day = today - dt.timedelta(days=ROLLUP_DAYS - 1)
    generated = _generate_events(organization, account_ids, first_day, today)
    yield {"name": "ingest.rollup_generate", **generated}

    floor_s = min(_timed(lambda: _floor_query(organization)) for _ in range(2))  # the first also warms the cache
    days = [first_day + dt.timedelta(days=n) for n in range(ROLLUP_DAYS)]
    DirtyDay.objects.bulk_create([DirtyDay(organization=organization, day=day) for day in days])
    with scope(organization=organization):
        started = time.perf_counter()
        result = rollups.rollup_dirty_days(organization=organization)
        rollup_s = time.perf_counter() - started
        started = time.perf_counter()
        refreshed = rollups.account_usage_refresh(organization=organization)
        refresh_s = time.perf_counter() - started
        DirtyDay.objects.create(organization=organization, day=today - dt.timedelta(days=10))
        started = time.perf_counter()
        one_day = rollups.rollup_dirty_days(organization=organization)
        one_day_s = time.perf_counter() - started
    events = generated["events"]
    yield {"name": "ingest.rollup_floor", "seconds": round(floor_s, 2), "rows_per_s": round(events / floor_s),
           "ratio": 1.0,
           "query": "SELECT account_id, day, count(*), count(DISTINCT user_id) ... GROUP BY 1, 2"}
    yield {
        "name": f"ingest.rollup_{events / 1_000_000:g}m",
        "events": events, "days": getattr(result, "days", None), "daily_rows": getattr(result, "rows", result),
        "seconds": round(rollup_s, 2), "events_per_s": round(events / rollup_s), "ratio": round(rollup_s / floor_s, 2),
        "floor": "rollup_floor", "loadavg_1m": os.getloadavg()[0],
    }
    yield {"name": "ingest.account_usage_refresh", "accounts": refreshed, "seconds": round(refresh_s, 2),
           "ratio": round(refresh_s / floor_s, 3), "floor": "rollup_floor"}
    yield {"name": "ingest.rollup_one_day", "days": getattr(one_day, "days", None),
           "daily_rows": getattr(one_day, "rows", one_day), "seconds": round(one_day_s, 3),
           "ratio": round(one_day_s / (floor_s / ROLLUP_DAYS), 2), "floor": "rollup_floor / 90 days"}


def _generate_events(organization: Organization, account_ids: list[int], first_day: dt.date, last_day: dt.date) -> dict:
    """``ROLLUP_EVENTS`` events server-side, in time order by slices (as ingestion would write them)."""
    partitions.ensure_months({partitions.month_of(first_day + dt.timedelta(days=n)) for n in range(ROLLUP_DAYS)})
    start = dt.datetime.combine(first_day, dt.time(tzinfo=dt.UTC))
    span = dt.datetime.combine(last_day, dt.time(tzinfo=dt.UTC)) + dt.timedelta(days=1) - start
    chunks = max(1, -(-ROLLUP_EVENTS // ROLLUP_CHUNK))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for chunk in range(chunks):
            first = chunk * ROLLUP_EVENTS // chunks
            last = (chunk + 1) * ROLLUP_EVENTS // chunks - 1
            cursor.execute(_GENERATE_SQL, {
                "org": organization.id, "accounts": account_ids, "account_count": len(account_ids),
                "users": USERS_PER_ACCOUNT, "slots": EVENT_SLOTS, "slot_count": len(EVENT_SLOTS),
                "lo": start + span * chunk / chunks, "hi": start + span * (chunk + 1) / chunks,
                "first": first, "last": last,
            })
        insert_s = time.perf_counter() - started
        # Hint bits and statistics set once here, so neither the floor nor the rollup pays for them.
        cursor.execute("VACUUM (ANALYZE) integrations_usageevent")
    vacuum_s = time.perf_counter() - started - insert_s
    return {"events": ROLLUP_EVENTS, "days": ROLLUP_DAYS, "accounts": len(account_ids),
            "insert_seconds": round(insert_s, 1), "rows_per_s": round(ROLLUP_EVENTS / insert_s),
            "vacuum_seconds": round(vacuum_s, 1)}


def _floor_query(organization: Organization) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT account_id, (timestamp AT TIME ZONE 'UTC')::date, count(*), count(DISTINCT user_id) "
            "FROM integrations_usageevent WHERE organization_id = %s AND account_id IS NOT NULL GROUP BY 1, 2",
            [organization.id],
        )
        cursor.fetchall()


def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started
