"""Monthly partitions of the raw event table.

The plan: ``integrations_usageevent`` is ``PARTITION BY RANGE (timestamp)``, one
partition per calendar month (UTC), named ``integrations_usageevent_pYYYYMM``.

- Every index leads with ``organization_id`` (the shard key), then ``timestamp``,
  so an organization's day or week is one index range in one or two partitions.
- Partitions are made ahead of time (the beat task ``ensure_usage_partitions`` keeps
  the next three months ready) and on demand: before storing a batch, ingestion makes
  sure each month it touches exists, so a backfill of old history just works.
- Old months are dropped whole (``DROP TABLE``), never deleted row by row, once they
  are past the retention an operator sets (``USAGE_RAW_RETENTION_MONTHS``, 0 = keep
  everything; the daily rollups, which pages and health read, are kept either way).
"""

from __future__ import annotations

import datetime as dt
import threading

from django.db import connection, transaction

TABLE = "integrations_usageevent"
# Months known to exist, per process: the common case (this month) costs no query.
_known: set[tuple[int, int]] = set()
_lock = threading.Lock()


def month_of(moment: dt.datetime | dt.date) -> tuple[int, int]:
    return moment.year, moment.month


def _next(month: tuple[int, int]) -> tuple[int, int]:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def partition_name(month: tuple[int, int]) -> str:
    return f"{TABLE}_p{month[0]:04d}{month[1]:02d}"


def create_sql(month: tuple[int, int]) -> str:
    following = _next(month)
    return (
        f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {TABLE} "
        f"FOR VALUES FROM ('{month[0]:04d}-{month[1]:02d}-01 00:00+00') "
        f"TO ('{following[0]:04d}-{following[1]:02d}-01 00:00+00')"
    )


def ensure_months(months: set[tuple[int, int]]) -> None:
    """Make sure a partition exists for each of ``months`` (idempotent, concurrency-safe).

    Call it outside the transaction that stores events: the partitions must be committed
    before this process remembers them as made.
    """
    missing = months - _known
    if not missing:
        return
    with _lock, transaction.atomic():
        with connection.cursor() as cursor:
            for month in sorted(missing):
                cursor.execute("SELECT to_regclass(%s)", [partition_name(month)])
                if cursor.fetchone()[0] is None:
                    # Serialised across processes, so two workers creating the same month
                    # do not race into a duplicate-relation error. Held to the transaction's end.
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [partition_name(month)])
                    cursor.execute(create_sql(month))
        transaction.on_commit(lambda: _known.update(missing))


def ensure_ahead(today: dt.date, months_ahead: int = 3) -> list[str]:
    """Partitions for this month and ``months_ahead`` more; returns their names."""
    month = month_of(today)
    wanted = set()
    for _ in range(months_ahead + 1):
        wanted.add(month)
        month = _next(month)
    ensure_months(wanted)
    return [partition_name(m) for m in sorted(wanted)]


def drop_older_than(today: dt.date, months: int) -> list[str]:
    """Drop the partitions of months that ended more than ``months`` whole months before ``today``'s.

    A day of raw events that is dropped can no longer be rolled up again (nor an unmatched
    event in it mapped); its ``UsageDaily`` rows stay.
    """
    if months <= 0:
        return []
    year, month = month_of(today)
    index = year * 12 + (month - 1) - months  # the oldest month kept
    oldest_kept = partition_name((index // 12, index % 12 + 1))
    dropped = [name for name in existing() if name < oldest_kept]  # zero-padded names sort as dates
    with transaction.atomic(), connection.cursor() as cursor:
        for name in dropped:
            cursor.execute(f"DROP TABLE {name}")
    _known.clear()
    return dropped


def existing() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def forget_cache() -> None:
    """For tests that drop partitions behind this process's back."""
    _known.clear()
