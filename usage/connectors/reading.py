"""Reading a product's own database (seed 001): the connector's query checked, run read-only
with a statement timeout through a server-side cursor, and its rows checked one by one.

The query returns ``(account_external_id, day, metric, value)`` rows. It may read
incrementally with ``%(since)s``: the first day not yet fully imported (NULL on the first
run, so write e.g. ``day >= coalesce(%(since)s::date, '1970-01-01')``). When it does, a
literal ``%`` in it must be written ``%%``.

Where a connector may connect at all is ``usage.connectors.dsn``'s and
``cs_platform.outbound``'s to decide, before every connection; Tend never writes there.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import re
from typing import Any, Iterator

import psycopg
import sqlparse
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date

from cs_platform import outbound
from usage.connectors.dsn import connection_params, dsn_parse, unreachable

logger = logging.getLogger(__name__)


SINCE_PLACEHOLDER = "%(since)s"
DEFAULT_STATEMENT_TIMEOUT_MS = 5 * 60 * 1000
TEST_STATEMENT_TIMEOUT_MS = 30 * 1000
FETCH_ROWS = 10_000
UNMATCHED_SAMPLE_SIZE = 20
METRIC_MAX_LENGTH = 200
TEST_SAMPLE_ROWS = 5
COLUMNS = ("account_external_id", "day", "metric", "value")
# A run still queued or running after this long is taken to be lost (its worker died).
RUN_STALE_AFTER = dt.timedelta(minutes=35)

EXAMPLE_QUERY = """SELECT company_id AS account_external_id,
       day,
       'active_users' AS metric,
       count(DISTINCT user_id) AS value
FROM daily_activity
WHERE day >= coalesce(%(since)s::date, current_date - 90)
GROUP BY company_id, day"""


class ConnectorError(Exception):
    """A run or a test failed for a reason an admin can read and act on (no secrets in it)."""


# --- Connection strings and queries ----------------------------------------------------


def _statements(query: str) -> list[str]:
    """The statements of ``query`` that hold more than comments."""
    return [part for part in sqlparse.split(query) if sqlparse.format(part, strip_comments=True).strip(" \t\r\n;")]


def query_check(query: str) -> str:
    """``query`` trimmed if it is one SELECT (or WITH … SELECT); else ValidationError on ``query``."""
    query = query.strip()
    if not query:
        raise ValidationError({"query": "Enter the SQL query that returns the usage rows."})
    statements = _statements(query)
    if len(statements) > 1:
        raise ValidationError(
            {"query": f"Enter a single statement: this one has {len(statements)} (separated by “;”). "
                      "Combine them with WITH … SELECT or UNION ALL."}
        )
    executable = _executable(query)
    if not re.match(r"^\(*\s*(select|with)\b", executable, re.IGNORECASE):
        first = executable.split(None, 1)[0][:30] if executable else ""
        raise ValidationError(
            {"query": f"The query must start with SELECT or WITH (it starts with “{first}”): connectors only read."}
        )
    return query


def _executable(query: str) -> str:
    """The query as sent: comments and the trailing ``;`` dropped, so it can be wrapped."""
    return sqlparse.format(query, strip_comments=True).strip().rstrip(";").strip()


def _parameters(query: str, since: dt.date | None) -> dict[str, Any] | None:
    # Without parameters psycopg leaves "%" alone, so only queries using %(since)s need "%%".
    return {"since": since} if SINCE_PLACEHOLDER in query else None


# --- Reading the product database ------------------------------------------------------


def statement_timeout_ms() -> int:
    return int(getattr(settings, "CONNECTOR_STATEMENT_TIMEOUT_MS", DEFAULT_STATEMENT_TIMEOUT_MS))


def _connect(dsn: str, *, timeout_ms: int) -> psycopg.Connection:
    """A connection whose every transaction is read-only and whose statements time out."""
    try:
        params = dsn_parse(dsn)
    except ValidationError as error:
        raise ConnectorError(" ".join(error.messages)) from None
    try:
        connection = psycopg.connect(**connection_params(params, application_name="tend-connector"), autocommit=True)
    except outbound.Refused as refusal:
        raise ConnectorError(str(refusal)) from None
    except (outbound.Unresolved, psycopg.Error) as error:
        # Refused, timed out, no route, not PostgreSQL, authentication: one message for all, so
        # that no one can map which ports of a network are open. The operator's log has libpq's.
        logger.info("Connector connection to %s:%s failed: %s", params["host"], params.get("port", ""), error)
        raise ConnectorError(unreachable(params)) from None
    try:
        # Session-wide, and again per transaction below: belt and braces, as the query is an admin's text.
        connection.execute("SELECT set_config('default_transaction_read_only', 'on', false)")
        connection.execute("SELECT set_config('statement_timeout', %s, false)", [str(timeout_ms)])
    except psycopg.Error as error:
        connection.close()
        raise ConnectorError(f"Could not prepare the product database session: {_primary(error)}") from None
    return connection


def _primary(error: psycopg.Error) -> str:
    """The server's one-line message: what went wrong, without libpq's context lines."""
    diag = getattr(error, "diag", None)
    primary = (diag.message_primary if diag is not None else None) or str(error)
    return primary.strip().splitlines()[0] if primary.strip() else type(error).__name__


def _query_error(error: psycopg.Error, timeout_ms: int) -> ConnectorError:
    """A driver error as a sentence for the admin."""
    diag = getattr(error, "diag", None)
    primary = _primary(error)
    if isinstance(error, psycopg.errors.QueryCanceled):
        minutes = timeout_ms / 60000
        limit = f"{minutes:g} minutes" if minutes >= 1 else f"{timeout_ms / 1000:g} seconds"
        return ConnectorError(
            f"The query ran longer than the {limit} allowed and was cancelled. Make it cheaper: read from "
            "%(since)s on, or use an index on the day column."
        )
    if isinstance(error, psycopg.errors.ReadOnlySqlTransaction) or "data-modifying" in primary:
        return ConnectorError(
            f"The query tried to change the product database ({primary}). Connectors only read: "
            "use a SELECT that writes nothing."
        )
    if diag is None or diag.sqlstate is None:  # the server said nothing: the connection broke
        return ConnectorError(f"The connection to the product database failed: {primary}")
    hint = diag.message_hint
    return ConnectorError(f"The query failed: {primary}." + (f" Hint: {hint}" if hint else ""))


def read(dsn: str, query: str, since: dt.date | None, *, timeout_ms: int, limit: int | None = None) -> Iterator[tuple[list[str], list[tuple]]]:
    """Yield ``(column names, rows)`` chunks of the query's result, read-only, server-side."""
    sql = _executable(query)
    if limit is not None:
        sql = f"SELECT * FROM (\n{sql}\n) AS tend_sample LIMIT {int(limit)}"
    connection = _connect(dsn, timeout_ms=timeout_ms)
    try:
        with connection.transaction():
            connection.execute("SET TRANSACTION READ ONLY")
            # A named cursor streams the result instead of loading it whole into memory.
            with connection.cursor(name="tend_connector") as cursor:
                cursor.execute(sql, _parameters(query, since))
                columns = [column.name for column in cursor.description or []]
                while rows := cursor.fetchmany(FETCH_ROWS if limit is None else limit):
                    yield columns, rows
    except psycopg.Error as error:
        raise _query_error(error, timeout_ms) from None
    finally:
        connection.close()


# --- Row checks ------------------------------------------------------------------------


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f"“{value}”"
    return text if len(text) <= 80 else text[:77] + "…"


def check_row(number: int, row: tuple) -> tuple[str, dt.date, str, float]:
    """One result row as ``(external id, day, metric, value)``; ConnectorError naming what is wrong."""
    if len(row) != len(COLUMNS):
        raise ConnectorError(
            f"Row {number} has {len(row)} columns; the query must return exactly 4: {', '.join(COLUMNS)}."
        )
    external_id, day, metric, value = row

    def bad(column: str, why: str, shown: Any) -> ConnectorError:
        return ConnectorError(f"Row {number}, column {column}: {_shown(shown)} {why}")

    if isinstance(external_id, bool) or not isinstance(external_id, (str, int)):
        raise bad("account_external_id", "is not text: return the account's id in your product as text.", external_id)
    external_id = str(external_id).strip()
    if not external_id:
        raise bad("account_external_id", "is empty: every row needs the account's id.", row[0])

    if isinstance(day, dt.datetime):
        day = (day.astimezone(dt.UTC) if day.tzinfo else day).date()
    elif isinstance(day, str):
        try:
            parsed = parse_date(day.strip())
        except ValueError:  # well-formed but impossible, e.g. 2026-02-30
            parsed = None
        if parsed is None:
            raise bad("day", "is not a date: return a date, or text such as 2026-03-31.", day)
        day = parsed
    elif not isinstance(day, dt.date):
        raise bad("day", "is not a date: return a date, or text such as 2026-03-31.", day)

    if not isinstance(metric, str) or not metric.strip():
        raise bad("metric", "is not a metric name: return non-empty text such as 'logins'.", metric)
    metric = metric.strip()
    if len(metric) > METRIC_MAX_LENGTH:
        raise bad("metric", f"is longer than {METRIC_MAX_LENGTH} characters.", metric)

    if isinstance(value, bool) or not isinstance(value, (int, float, decimal.Decimal)):
        raise bad("value", "is not a number: return a numeric column (cast text with value::numeric).", value)
    number_value = float(value)
    if not math.isfinite(number_value):
        raise bad("value", "is not a finite number.", value)
    return external_id, day, metric, number_value
