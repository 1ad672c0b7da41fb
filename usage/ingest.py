"""Usage ingestion: messages checked, people and accounts resolved, events stored in bulk.

Two wire formats come in (Segment's HTTP API and Mixpanel's ``/import``); both are
parsed into ``Message``s here, each checked on its own (a bad message is refused by
index and field, and the good ones of the same request are still stored), then stored
by ``store_messages``:

1. ``identify`` and ``group`` messages update ``UsageUser`` rows (and contacts) first,
   so a ``track`` later in the same batch is already attributed.
2. One SQL statement stores every message: it marks message ids as seen (dropping
   retries), attributes each event to an account (the group's external id, else the
   user's account), inserts the events with a multi-row insert, and notes the days
   the rollup must redo. One round trip per request, never one INSERT per event.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

import orjson
import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Contact, ContactRole
from cs_platform import clean
from cs_platform.models import Organization
from usage import partitions
from usage.models import UsageUser
from usage.selectors import PRODUCT_SOURCE, accounts_by_external_id

MAX_ID_LENGTH = 200
MAX_EVENT_NAME_LENGTH = 200
# Events dated before this are refused as a client's bug (an epoch of 0, a year 0001).
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
# Clocks drift: a day ahead is accepted, further is a client's bug.
FUTURE_TOLERANCE = dt.timedelta(days=1)

SEGMENT_TYPES = ("track", "identify", "group", "page", "screen")


@dataclass
class Message:
    type: str
    message_id: str  # as the client sent it; deduplicated per source (see store_messages)
    timestamp: dt.datetime
    user_id: str = ""
    anonymous_id: str = ""
    event: str = ""
    group_id: str = ""
    # Properties of a track/page, traits of an identify/group.
    properties: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    index: int  # the message's index in the request
    field: str
    message: str

    def as_json(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass
class Parsed:
    """What a request's messages came to: those to store, and the problems of those refused."""

    messages: list[Message]
    problems: list[Problem]

    @property
    def refused(self) -> int:
        return len({problem.index for problem in self.problems})


class InvalidMessages(Exception):
    """Messages failed their checks (for callers that want all or nothing, such as scripts)."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"[{p.index}] {p.field}: {p.message}" for p in problems[:5]))
        self.problems = problems


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0


@dataclass(frozen=True)
class Unreadable:
    """A record that was not even JSON (a line of NDJSON), refused by index like any bad one."""

    reason: str


# --- Checking ---------------------------------------------------------------------------


class _Checker:
    """Collects every problem of a request, by message, so the client fixes them all in one go."""

    def __init__(self, received_at: dt.datetime):
        self.received_at = received_at
        self.problems: list[Problem] = []
        self._refused: set[int] = set()

    def fail(self, index: int, name: str, why: str) -> None:
        self.problems.append(Problem(index, name, why))
        self._refused.add(index)

    def refused(self, index: int) -> bool:
        return index in self._refused

    def cleaned(self, index: int, parse, value, **bounds):
        """``value`` through ``cs_platform.clean``; None, and a problem, when it cannot be stored."""
        try:
            return parse(value, **bounds)
        except clean.Invalid as invalid:
            self.fail(index, invalid.field, f"{invalid.problem}.")
            return None

    def identifier(self, index: int, raw: dict, name: str, *, required: bool = False) -> str:
        value = raw.get(name)
        if value is None or value == "":
            if required:
                self.fail(index, name, "is required.")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.fail(index, name, f"must be a string or a number, not {_json_type(value)}.")
            return ""
        return self.bounded(index, name, str(value), MAX_ID_LENGTH)

    def event_name(self, index: int, value: object, name: str = "event") -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(index, name, "is required for a track call: the name of the action, e.g. “Flow Deployed”.")
            return ""
        return self.bounded(index, name, value.strip(), MAX_EVENT_NAME_LENGTH)

    def bounded(self, index: int, name: str, text: str, limit: int) -> str:
        """``text`` if PostgreSQL can store it in a column of ``limit`` characters, else "" and a problem."""
        return self.cleaned(index, clean.text, text, field=name, max_length=limit, strip=False) or ""

    def moment(self, index: int, value: object, name: str) -> dt.datetime | None:
        if not isinstance(value, str):
            self.fail(index, name, f"must be an ISO-8601 date-time string, not {_json_type(value)}.")
            return None
        moment = self.cleaned(index, clean.moment, value, field=name)
        return None if moment is None else self.in_range(index, moment, name)

    def in_range(self, index: int, moment: dt.datetime, name: str) -> dt.datetime | None:
        if moment < EARLIEST:
            self.fail(index, name, f"{moment:%Y-%m-%d} is before {EARLIEST:%Y-%m-%d}; check the client's clock.")
            return None
        if moment > self.received_at + FUTURE_TOLERANCE:
            self.fail(index, name, f"{moment.isoformat()} is more than a day in the future; check the client's clock.")
            return None
        return moment

    def mapping(self, index: int, raw: dict, name: str) -> dict:
        value = raw.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(index, name, f"must be an object, not {_json_type(value)}.")
            return {}
        return value

    def stored_mapping(self, index: int, raw: dict, name: str) -> dict:
        """An object that is stored as JSON: every key and value must fit PostgreSQL's jsonb."""
        value = self.mapping(index, raw, name)
        return {} if self.cleaned(index, clean.json_value, value, field=name) is None else value

    def size(self, index: int, raw: object, limit: int) -> None:
        if (size := len(orjson.dumps(raw))) > limit:
            self.fail(index, "message", f"is {size // 1024} KB; a message may be at most {limit // 1024} KB.")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def parse_segment(
    payloads: list,
    *,
    received_at: dt.datetime,
    sent_at: object = None,
    shared_context: object = None,
    only_type: str | None = None,
    max_message_bytes: int | None = None,
) -> Parsed:
    """Segment messages (``/v1/batch`` items, or one ``/v1/<type>`` body) as ``Message``s,
    and a problem for every field of every message refused. A batch's ``sent_at`` and
    ``shared_context`` apply to each message that has none of its own; with
    ``max_message_bytes``, each message's size (as sent) is checked too."""
    check = _Checker(received_at)
    messages: list[Message] = []
    for index, raw in enumerate(payloads):
        message = _segment_message(check, index, raw, sent_at, shared_context, only_type, max_message_bytes)
        if message is not None and not check.refused(index):
            messages.append(message)
    return Parsed(messages, check.problems)


def _segment_message(
    check: _Checker, index: int, raw: object, batch_sent_at: object, shared_context: object,
    only_type: str | None, max_bytes: int | None,
) -> Message | None:
    if not isinstance(raw, dict):
        check.fail(index, "message", f"must be an object, not {_json_type(raw)}.")
        return None
    if max_bytes is not None:
        check.size(index, raw, max_bytes)
    if isinstance(shared_context, dict) and shared_context and isinstance(raw.get("context", {}), dict):
        raw = {**raw, "context": {**shared_context, **raw.get("context", {})}}  # the message's own keys win
    kind = only_type or raw.get("type")
    if kind not in SEGMENT_TYPES:
        shown = f"“{kind[:40]}”" if isinstance(kind, str) else _json_type(kind)
        check.fail(index, "type", f"{shown} is not a message type; use one of {', '.join(SEGMENT_TYPES)}.")
        return None
    user_id = check.identifier(index, raw, "userId")
    anonymous_id = check.identifier(index, raw, "anonymousId")
    if not user_id and not anonymous_id and "userId" not in raw and "anonymousId" not in raw:
        check.fail(index, "userId", "a userId or an anonymousId is required.")
    message_id = check.identifier(index, raw, "messageId") or f"tend-{uuid.uuid4()}"
    context = check.mapping(index, raw, "context")
    properties = check.stored_mapping(index, raw, "traits" if kind in ("identify", "group") else "properties")
    if kind in ("identify", "group") and not properties and isinstance(context.get("traits"), dict):
        properties = check.stored_mapping(index, context, "traits")
    event = ""
    group_id = ""
    if kind == "track":
        event = check.event_name(index, raw.get("event"))
    elif kind in ("page", "screen"):
        name = raw.get("name")
        # A page's title may be long: cut, not refused; but never unstorable.
        event = check.bounded(index, "name", name.strip()[:MAX_EVENT_NAME_LENGTH], MAX_EVENT_NAME_LENGTH) if isinstance(name, str) else ""
    if kind == "group":
        group_id = check.identifier(index, raw, "groupId", required=True)
    else:
        # Segment clients put the account on any call as context.groupId (B2B spec).
        group_id = check.identifier(index, context, "groupId") if context else ""
    timestamp = _segment_time(check, index, raw, batch_sent_at)
    if timestamp is None:
        return None
    return Message(
        type=kind, message_id=message_id, timestamp=timestamp, user_id=user_id, anonymous_id=anonymous_id,
        event=event, group_id=group_id, properties=properties,
    )


def _segment_time(check: _Checker, index: int, raw: dict, batch_sent_at: object) -> dt.datetime | None:
    """When it happened: ``timestamp``; else ``originalTimestamp`` corrected for the client's
    clock by ``sentAt`` (as Segment does); else when Tend received it."""
    if raw.get("timestamp") not in (None, ""):
        return check.moment(index, raw["timestamp"], "timestamp")
    if raw.get("originalTimestamp") in (None, ""):
        return check.received_at
    original = check.moment(index, raw["originalTimestamp"], "originalTimestamp")
    sent_at = raw.get("sentAt") if raw.get("sentAt") not in (None, "") else batch_sent_at
    if original is None or sent_at in (None, ""):
        return original
    if not isinstance(sent_at, str):
        check.fail(index, "sentAt", f"must be an ISO-8601 date-time string, not {_json_type(sent_at)}.")
        return None
    # The client's clock may be wrong (that is what sentAt corrects), so only its year is bounded:
    # enough that the correction cannot overflow.
    sent = check.cleaned(index, clean.moment, sent_at, field="sentAt")
    if sent is None:
        return None
    return check.in_range(index, check.received_at - (sent - original), "originalTimestamp")


def parse_mixpanel(records: list, *, received_at: dt.datetime, group_key: str) -> Parsed:
    """Mixpanel ``/import`` records (``{"event", "properties": {time, distinct_id, $insert_id…}}``)."""
    check = _Checker(received_at)
    messages: list[Message] = []
    for index, raw in enumerate(records):
        message = _mixpanel_message(check, index, raw, group_key)
        if message is not None and not check.refused(index):
            messages.append(message)
    return Parsed(messages, check.problems)


def _mixpanel_message(check: _Checker, index: int, raw: object, group_key: str) -> Message | None:
    if isinstance(raw, Unreadable):
        check.fail(index, "record", raw.reason)
        return None
    if not isinstance(raw, dict):
        check.fail(index, "record", f"must be an object, not {_json_type(raw)}.")
        return None
    event = check.event_name(index, raw.get("event"))
    properties = raw.get("properties")
    if not isinstance(properties, dict):
        check.fail(index, "properties", "is required: an object with time, distinct_id and $insert_id.")
        return None
    user_id = check.identifier(index, properties, "distinct_id")
    anonymous_id = check.identifier(index, properties, "$device_id")
    if not user_id and not anonymous_id:
        check.fail(index, "properties.distinct_id", "is required.")
    insert_id = check.identifier(index, properties, "$insert_id", required=True)
    group_id = check.identifier(index, properties, group_key)
    timestamp = _mixpanel_time(check, index, properties.get("time"))
    kept = {key: value for key, value in properties.items() if key not in ("time", "distinct_id", "$insert_id", "token")}
    kept = check.stored_mapping(index, {"properties": kept}, "properties")
    if timestamp is None or not event:
        return None
    return Message(
        type="track", message_id=insert_id, timestamp=timestamp, user_id=user_id,
        anonymous_id=anonymous_id, event=event, group_id=group_id, properties=kept,
    )


def _mixpanel_time(check: _Checker, index: int, value: object) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        check.fail(index, "properties.time", "is required: seconds (or milliseconds) since the Unix epoch.")
        return None
    seconds = value / 1000 if value > 100_000_000_000 else value  # Mixpanel takes either
    try:
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    except (OverflowError, OSError, ValueError):
        check.fail(index, "properties.time", f"{value} is not a time Tend can read.")
        return None
    return check.in_range(index, moment, "properties.time")


# --- Storing ----------------------------------------------------------------------------

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
                _apply_identities(organization, people)
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


# --- People and accounts ------------------------------------------------------------------


def _apply_identities(organization: Organization, messages: list[Message]) -> None:
    """``identify``: the user's traits (and contact); ``group``: the user's account.

    A handful of statements per batch, whatever the number of people in it.
    """
    user_ids = {m.user_id for m in messages if m.user_id}
    users = {user.user_id: user for user in UsageUser.objects.filter(user_id__in=user_ids)}
    accounts = accounts_by_external_id(m.group_id for m in messages if m.type == "group")
    newly_matched: dict[int, list[str]] = defaultdict(list)
    for message in sorted(messages, key=lambda m: m.timestamp):
        if not message.user_id:
            continue  # anonymous identify/group: nothing to remember a person by
        user = users.get(message.user_id)
        if user is None:
            user = users[message.user_id] = UsageUser(
                organization=organization, user_id=message.user_id, first_seen_at=message.timestamp
            )
        user.last_seen_at = max(user.last_seen_at or message.timestamp, message.timestamp)
        if message.type == "identify":
            user.traits = {**user.traits, **message.properties}
        else:
            user.group_id = message.group_id
            account_id = accounts.get(message.group_id)
            if account_id is not None and user.account_id != account_id:
                user.account_id = account_id
                newly_matched[account_id].append(user.user_id)
    # One upsert: a person first seen by two requests at once is one row, the later traits win.
    UsageUser.objects.bulk_create(
        list(users.values()), update_conflicts=True, unique_fields=["organization", "user_id"],
        update_fields=["group_id", "account", "traits", "last_seen_at"],
    )
    sync_contacts(organization, [user for user in users.values() if user.account_id is not None])
    for account_id, matched_user_ids in newly_matched.items():
        attribute_unmatched(organization=organization, user_ids=matched_user_ids, account_id=account_id)


def sync_contacts(organization: Organization, users: list[UsageUser]) -> None:
    """The product's users as contacts of their accounts, kept to their latest traits.

    A person already known as a contact of that account by e-mail (from the CRM, say) is
    linked, not duplicated, and left as its source wrote it.
    """
    if not users:
        return
    by_user_id = {c.external_id: c for c in Contact.objects.filter(source=PRODUCT_SOURCE, external_id__in=[u.user_id for u in users])}
    unlinked = [u for u in users if u.user_id not in by_user_id and _email_of(u)]
    by_email = {
        (c.account_id, c.email.lower()): c
        for c in Contact.objects.annotate(email_folded=Lower("email")).filter(
            account_id__in={u.account_id for u in unlinked}, email_folded__in={_email_of(u).lower() for u in unlinked}
        )
    }
    created, updated = [], []
    for user in users:
        email = _email_of(user)
        contact = by_user_id.get(user.user_id)
        if contact is None and (user.account_id, email.lower()) in by_email:
            user.contact = by_email[(user.account_id, email.lower())]  # someone else's record: link only
            continue
        if contact is None:
            contact = Contact(
                organization=organization, source=PRODUCT_SOURCE, external_id=user.user_id, role=ContactRole.USER
            )
            created.append(contact)
        else:
            updated.append(contact)
        contact.account_id = user.account_id
        contact.name = (_name_from(user.traits) or email or user.user_id)[:200]
        if email:
            contact.email = email
        if isinstance(user.traits.get("title"), str):
            contact.title = user.traits["title"][:120]
        user.contact = contact
    try:
        with transaction.atomic():
            Contact.objects.bulk_create(created)
    except IntegrityError:
        # Another request made one of these contacts a moment ago: take theirs, update it.
        for contact in created:
            contact.pk = Contact.objects.get(source=PRODUCT_SOURCE, external_id=contact.external_id).pk
            updated.append(contact)
    Contact.objects.bulk_update(updated, ["account", "name", "email", "title"])
    UsageUser.objects.bulk_update(users, ["contact"])


def _email_of(user: UsageUser) -> str:
    email = user.traits.get("email")
    return email.strip() if isinstance(email, str) and 0 < len(email.strip()) <= 254 else ""


def _name_from(traits: dict) -> str:
    if isinstance(traits.get("name"), str) and traits["name"].strip():
        return traits["name"].strip()
    parts = [traits.get(key) for key in ("firstName", "lastName", "first_name", "last_name")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def attribute_unmatched(*, organization: Organization, account_id: int, user_ids=(), group_ids=()) -> int:
    """Give unmatched events of these users or groups to ``account_id``; they count from now.

    Returns how many events moved. The days they fall on are noted for the rollup.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH moved AS (
                UPDATE integrations_usageevent SET account_id = %(account)s
                WHERE organization_id = %(organization)s AND account_id IS NULL
                  AND ((user_id = ANY(%(users)s) AND user_id <> '') OR (group_id = ANY(%(groups)s) AND group_id <> ''))
                RETURNING timestamp
            ), noted AS (
                INSERT INTO integrations_dirtyday (organization_id, day)
                SELECT DISTINCT %(organization)s, (timestamp AT TIME ZONE 'UTC')::date FROM moved
            )
            SELECT count(*) FROM moved
            """,
            {"account": account_id, "organization": organization.id, "users": list(user_ids), "groups": list(group_ids)},
        )
        return cursor.fetchone()[0]
