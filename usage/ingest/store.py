"""Ingestion's second step: checked messages stored in bulk, people and accounts resolved.

1. ``identify`` and ``group`` messages update ``UsageUser`` rows (and contacts) first
   (``usage.ingest.identities``), so a ``track`` later in the same batch is attributed.
2. One SQL statement stores every message: it marks message ids as seen (dropping
   retries), attributes each event to an account (the group's external id, else the
   user's account), inserts the events with a multi-row insert, and notes the days
   the rollup must redo. One round trip per request, never one INSERT per event.
"""

from __future__ import annotations

import orjson
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from cs_platform.models import Organization
from usage import partitions
from usage.ingest.identities import apply_identities
from usage.ingest.parse import IngestResult, InvalidMessages, Message, parse_segment

STORE_SQL = """
WITH incoming AS (
    -- The batch arrives as one JSON array: PostgreSQL unpacks it in C, where adapting
    -- eight Python lists of a hundred values each cost more than the insert itself.
    SELECT * FROM jsonb_to_recordset(%(batch)s::jsonb) AS t(
        timestamp timestamptz, type text, event text, user_id text, anonymous_id text, group_id text,
        message_id text, properties jsonb
    )
), groups AS (
    -- Each group named in the batch resolved once (a batch is mostly a few accounts' events).
    SELECT DISTINCT ON (e.external_id) e.external_id, e.account_id
    FROM accounts_accountexternalid e
    WHERE e.organization_id = %(organization)s
      AND e.external_id IN (SELECT DISTINCT group_id FROM incoming WHERE group_id <> '')
    ORDER BY e.external_id, (e.source <> 'product'), e.id
), fresh AS (
    -- Seen per source: the key is "<source>:<client's id>", so a Segment messageId of
    -- "mixpanel:X" is not Mixpanel's record X (nor the other way round).
    INSERT INTO integrations_seenmessage (organization_id, message_id, seen_on)
    SELECT %(organization)s, %(source)s || ':' || message_id, %(today)s FROM incoming
    ON CONFLICT DO NOTHING
    RETURNING message_id
), stored AS (
    INSERT INTO integrations_usageevent (
        organization_id, timestamp, received_at, type, event, user_id, anonymous_id, group_id,
        account_id, message_id, source, properties
    )
    SELECT %(organization)s, i.timestamp, %(received_at)s, i.type, i.event, i.user_id, i.anonymous_id,
           -- A message naming no group is filed under the person's last group, so the
           -- unmatched list shows a team's people together and mapping the team takes them all.
           CASE WHEN i.group_id <> '' THEN i.group_id ELSE coalesce(by_user.group_id, '') END,
           coalesce(by_group.account_id, by_user.account_id), i.message_id, %(source)s, i.properties
    FROM incoming i
    JOIN fresh ON fresh.message_id = %(source)s || ':' || i.message_id
    LEFT JOIN integrations_usageuser by_user
        ON by_user.organization_id = %(organization)s AND by_user.user_id = i.user_id AND i.user_id <> ''
    LEFT JOIN groups by_group ON by_group.external_id = i.group_id
    RETURNING timestamp, account_id
), noted AS (
    INSERT INTO integrations_dirtyday (organization_id, day)
    SELECT DISTINCT %(organization)s, (timestamp AT TIME ZONE 'UTC')::date FROM stored WHERE account_id IS NOT NULL
)
SELECT count(*), count(*) FILTER (WHERE account_id IS NULL) FROM stored
"""


def store_messages(*, organization: Organization, messages: list[Message], source: str) -> IngestResult:
    """Store checked messages for ``organization`` (inside its scope); retries are dropped."""
    result = IngestResult(received=len(messages))
    if not messages:
        return result
    unique: dict[str, Message] = {}
    for message in messages:
        unique.setdefault(message.message_id, message)  # a message repeated within one request counts once
    rows = list(unique.values())
    partitions.ensure_months({partitions.month_of(message.timestamp) for message in rows})
    received_at = timezone.now()
    params = {
        "organization": organization.id,
        "today": received_at.date(),
        "received_at": received_at,
        "source": source,
        "batch": orjson.dumps(
            [
                {
                    "timestamp": m.timestamp, "type": m.type, "event": m.event, "user_id": m.user_id,
                    "anonymous_id": m.anonymous_id, "group_id": m.group_id, "message_id": m.message_id,
                    "properties": m.properties,
                }
                for m in rows
            ]
        ).decode(),
    }
    people = [message for message in rows if message.type in ("identify", "group")]
    if not people and settings.USAGE_SYNCHRONOUS_COMMIT:
        # The common case, track and page only: one statement, atomic on its own, so no
        # BEGIN and COMMIT round trips around it.
        stored, unmatched = _execute_store(params)
    else:
        with transaction.atomic():
            if not settings.USAGE_SYNCHRONOUS_COMMIT:
                # Acknowledge without waiting for the disk: a PostgreSQL crash could lose the
                # last fraction of a second of acknowledged events, never corrupt anything.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit = off")
            if people:
                apply_identities(organization, people)
            stored, unmatched = _execute_store(params)
    result.stored, result.unmatched = stored, unmatched
    result.duplicates = len(messages) - stored
    return result


def _execute_store(params: dict) -> tuple[int, int]:
    """Run ``STORE_SQL`` as a prepared statement with server-side parameters.

    Django binds parameters client-side, which would send the batch inside the query
    text and have PostgreSQL parse and plan the whole statement on every request (about
    1.5 ms of its CPU). Here each pooled connection prepares it once.
    """
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(STORE_SQL, params, prepare=True)
        return cursor.fetchone()


def ingest_segment(organization: Organization, payloads: list[dict], *, sent_at: str | None = None) -> IngestResult:
    """Check and store Segment messages (what the API does, for the demo seeder and scripts):
    all of them, or none when any is refused (``InvalidMessages``)."""
    parsed = parse_segment(payloads, received_at=timezone.now(), sent_at=sent_at)
    if parsed.problems:
        raise InvalidMessages(parsed.problems)
    return store_messages(organization=organization, messages=parsed.messages, source="segment")
