"""The ingestion rate limit counts in Redis, but never stands between an event and the database."""

from __future__ import annotations

import threading

import pytest
from django_scopes import scope

from usage import services
from usage.ingest import rate_limit
from usage.tests.test_ingest import post, stored, track
from tests.processes import free_port


@pytest.fixture
def key(org, admin) -> str:
    with scope(organization=org):
        return services.write_key_create(organization=org, actor=admin, label="Web app")[1]


def test_events_are_stored_when_redis_does_not_answer(client, org, key, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    first = post(client, "/v1/batch", {"batch": [track(message_id="away-1")]}, key)
    second = post(client, "/v1/batch", {"batch": [track(message_id="away-2")]}, key)
    assert (first.status_code, first.json(), second.status_code) == (200, {"success": True}, 200)
    assert sorted(row[5] for row in stored(org)) == ["away-1", "away-2"]


def test_threads_that_start_at_once_share_one_client():
    """A cold process's first requests arrive together; each thread making its own client
    (and closing another's connections) once answered 500 "Bad file descriptor"."""
    for trial in range(30):
        url = f"redis://127.0.0.1:{free_port()}/{trial % 16}"
        start = threading.Barrier(16)
        clients = []

        def first_request() -> None:
            start.wait()
            clients.append(rate_limit.client(url))

        threads = [threading.Thread(target=first_request) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({id(made) for made in clients}) == 1, f"trial {trial}: {len(set(map(id, clients)))} clients"
