"""The ingestion rate limit: requests a second per write key, counted in Redis.

It fails open. Events are stored in PostgreSQL, never in Redis, so when Redis does not
answer (within ``REDIS_TIMEOUT_SECONDS``) the request is let through uncounted rather
than refused: a 503 would make clients retry and then drop what they hold. After a
failure the count is skipped for a few seconds, so a paused Redis costs one timeout per
process, not one per request.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.utils import timezone

from cs_platform.api_errors import ApiError
from usage.models import WriteKey

logger = logging.getLogger(__name__)

SKIP_AFTER_FAILURE_SECONDS = 5.0

_lock = threading.Lock()
# One client (and connection pool) per Redis URL and process, shared by its threads;
# redis-py's pool makes fresh connections in a forked child.
_clients: dict[str, redis.Redis] = {}
_skip_until: dict[str, float] = {}


def check(key: WriteKey) -> None:
    """At most ``USAGE_RATE_LIMIT_PER_SECOND`` requests a second per key (a fixed one-second window)."""
    limit = settings.USAGE_RATE_LIMIT_PER_SECOND
    count = _count(key)
    if count is not None and count > limit:
        raise ApiError(
            429, "rate_limited", f"More than {limit} requests in one second with this write key; retry after a second.",
            headers={"Retry-After": "1"},
        )


def _count(key: WriteKey) -> int | None:
    """This second's requests with ``key``, this one included; None when Redis did not answer."""
    url = settings.REDIS_URL
    if time.monotonic() < _skip_until.get(url, 0.0):
        return None
    second = int(timezone.now().timestamp())
    # By the key's hash, not its row id: ids repeat across databases sharing one Redis.
    counter = f"tend:ingest-rate:{key.key_hash[:24]}:{second}"
    pipe = client(url).pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, 2)
    try:
        count, _ = pipe.execute()
    except redis.RedisError as error:
        _skip_until[url] = time.monotonic() + SKIP_AFTER_FAILURE_SECONDS
        logger.warning(
            "Ingestion rate limits are off for %.0f s: Redis did not answer (%s).",
            SKIP_AFTER_FAILURE_SECONDS, type(error).__name__,
        )
        return None
    return count


def client(url: str) -> redis.Redis:
    """The process's client for ``url``, made once even when many threads ask at the same moment."""
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                found = _clients[url] = redis.Redis.from_url(url, **settings.REDIS_CLIENT_OPTIONS)
    return found
