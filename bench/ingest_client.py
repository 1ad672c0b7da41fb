"""The load generator of the ingestion benchmark: Segment ``/v1/batch`` bodies and the
processes that send them.

Standard library only, and nothing of Django: each client runs in its own (spawned)
process, so it costs the server as little CPU as a client can. Bodies are encoded
before the clock starts; a request's only per-send work is one ``bytes.replace`` that
stamps a round number into its message ids, so every message id stays unique however
long the run.
"""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import os
import random
import time

ROUND_TOKEN = b"@ROUND@@"  # 8 bytes, replaced by the round as 8 hex digits
# Segment's libraries flush at 100 events (or 500 KB); ``BENCH_INGEST_BATCH`` tries others.
EVENTS_PER_BODY = int(os.environ.get("BENCH_INGEST_BATCH", 100))
BODIES_PER_CLIENT = max(8, 4000 // EVENTS_PER_BODY)

# A product's event mix (name, weight): a few features, logins and API calls among the noise.
EVENT_MIX = [
    ("Page Viewed", 30), ("Flow Deployed", 8), ("Flow Edited", 12), ("Node Added", 10), ("Logged In", 6),
    ("API Call", 14), ("Device Registered", 3), ("Snapshot Created", 3), ("Team Invited", 1),
    ("Pipeline Run", 7), ("Library Imported", 2), ("Billing Viewed", 1), ("Settings Changed", 2),
]
PLANS = ("starter", "team", "enterprise")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")
TRIGGERS = ("ui", "api", "schedule", "webhook")


def external_id(index: int) -> str:
    """The product's id of the ``index``-th bench account (``context.groupId``)."""
    return f"acct-{index:05d}"


def segment_bodies(*, client: int, accounts: int, count: int = BODIES_PER_CLIENT, seed: int = 7) -> list[bytes]:
    """``count`` encoded ``{"batch": [...]}`` bodies of ``EVENTS_PER_BODY`` track calls each.

    Message ids are ``bench-<client>-<body>-<ROUND_TOKEN>-<n>``: unique per client and
    body, and per round once the token is replaced.
    """
    rng = random.Random(seed * 1000 + client)
    names = [name for name, weight in EVENT_MIX for _ in range(weight)]
    now = dt.datetime.now(dt.UTC)
    bodies = []
    for body in range(count):
        batch = []
        for n in range(EVENTS_PER_BODY):
            account = int(accounts * rng.random() ** 2)  # a few big accounts, a long tail
            moment = now - dt.timedelta(seconds=rng.randrange(30 * 86_400))
            batch.append({
                "type": "track",
                "userId": f"user-{account}-{rng.randrange(12)}",
                "event": rng.choice(names),
                "messageId": f"bench-{client}-{body}-{ROUND_TOKEN.decode()}-{n}",
                "timestamp": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "context": {"groupId": external_id(account), "library": {"name": "analytics-node", "version": "2.1.0"}},
                "properties": {
                    "flowId": f"flow-{rng.getrandbits(32):08x}",
                    "nodes": rng.randrange(1, 80),
                    "durationMs": rng.randrange(5, 5000),
                    "plan": rng.choice(PLANS),
                    "region": rng.choice(REGIONS),
                    "trigger": rng.choice(TRIGGERS),
                    "success": rng.random() > 0.03,
                    "path": f"/projects/{rng.randrange(500)}/flows/{rng.randrange(40)}/editor",
                    "version": f"4.{rng.randrange(10)}.{rng.randrange(20)}",
                },
            })
        bodies.append(json.dumps({"batch": batch}, separators=(",", ":")).encode())
    return bodies


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def send_loop(client: int, host: str, port: int, write_key: str, accounts: int, clock, ready, results) -> None:
    """One client process: encode its bodies, say it is ready, then wait for ``clock``
    (a shared ``[start_at, stop_at]``, set once every client is ready) and POST bodies
    back to back from ``start_at`` until ``stop_at``.

    Puts ``(client, samples, errors, cpu_seconds)`` on ``results``: one
    ``(ended_at, seconds, status)`` a request, up to five error bodies, and the CPU the
    sending took.
    """
    bodies = segment_bodies(client=client, accounts=accounts)
    headers = {"Content-Type": "application/json", "Authorization": basic_auth(write_key)}
    connection = http.client.HTTPConnection(host, port, timeout=60)
    ready.set()
    while clock[0] == 0.0 or time.time() < clock[0]:
        time.sleep(0.005)
    stop_at = clock[1]
    cpu_started = time.process_time()
    samples: list[tuple[float, float, int]] = []
    errors: list[str] = []
    sent = 0
    while True:
        now = time.time()
        if now >= stop_at:
            break
        body = bodies[sent % len(bodies)].replace(ROUND_TOKEN, b"%08x" % (sent // len(bodies)))
        sent += 1
        started = time.perf_counter()
        try:
            # http.client keeps the connection alive when the server does (gthread), and
            # reconnects by itself when the server closes it (sync workers).
            connection.request("POST", "/v1/batch", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            status = response.status
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            status, payload = 0, repr(error).encode()
        elapsed = time.perf_counter() - started
        samples.append((time.time(), elapsed, status))
        if status != 200 and len(errors) < 5:
            errors.append(f"{status}: {payload[:300].decode(errors='replace')}")
    connection.close()
    results.put((client, samples, errors, time.process_time() - cpu_started))
