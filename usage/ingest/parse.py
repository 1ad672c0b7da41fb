"""Ingestion's first step: Segment and Mixpanel messages checked and parsed into ``Message``s.

Each message is checked on its own: a bad one is refused by index and field (``Problem``),
and the good ones of the same request are still stored (``usage.ingest.store``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

import orjson

from cs_platform import clean

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
