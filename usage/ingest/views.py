"""The ingestion endpoints: Segment's HTTP API (``/v1/batch``, ``/v1/track``…) and
Mixpanel's ``/import``, so customers point the client libraries they already use at Tend.

A request is checked in the order that costs least to refuse: size, key, rate,
JSON, then every message. A request-level failure answers JSON ``{"code", "message"}``
and stores nothing; bad messages are refused by index and field while the good ones of
the same request are stored (a 400 that says how many of each: Segment's clients log
a 400 and do not retry it, where a 200 would hide the loss). Every answer is JSON, an
unexpected error's 500 included.
"""

from __future__ import annotations

import base64
import binascii
import logging
import traceback
import zlib
from functools import wraps
from typing import Callable

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope

from cs_platform import clean
from cs_platform.api_errors import ApiError, json_response
from cs_platform.credentials import record_use
from cs_platform.selectors import token_hash
from usage import selectors
from usage.ingest import parse, rate_limit
from usage.ingest.store import store_messages
from usage.models import WriteKey

# Segment's limits: 32 KB a message, 500 KB a request. Mixpanel's: 2,000 records, 10 MB.
SEGMENT_MAX_MESSAGE = 32 * 1024
SEGMENT_MAX_REQUEST = 500 * 1024
MIXPANEL_MAX_RECORDS = 2000
MIXPANEL_MAX_REQUEST = 10 * 1024 * 1024
WHERE_KEYS_ARE_MADE = "An admin creates write keys under Settings → Usage data."
MAX_PROBLEMS_LISTED = 100

logger = logging.getLogger(__name__)


# --- Body ---------------------------------------------------------------------------------


def _body(request: HttpRequest, limit: int) -> bytes:
    """The request body, un-gzipped, refused past ``limit`` bytes (before or after inflating)."""
    too_large = ApiError(400, "request_too_large", f"The request is larger than {limit // 1024} KB; send smaller batches.")
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise too_large
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise too_large
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise ApiError(400, "unsupported_encoding", f"Content-Encoding “{encoding[:20]}” is not supported; send gzip or nothing.")
    inflater = zlib.decompressobj(wbits=31)
    try:
        body = inflater.decompress(raw, limit + 1)  # bounded: a small bomb cannot inflate past the limit
    except zlib.error:
        raise ApiError(400, "invalid_gzip", "The body says Content-Encoding: gzip but is not valid gzip.") from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise too_large
    return body


def _parse_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {error}.") from None


# --- Keys and rates ----------------------------------------------------------------------------


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": 'Basic realm="Tend ingestion"'})


def _basic_username(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("Send the write key as the HTTP Basic user name (password empty), or as writeKey in the body.")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("The Basic credentials are not valid base64 of “writeKey:”.") from None
    return decoded.partition(":")[0]


def _write_key(presented: str | None) -> WriteKey:
    if not presented:
        raise _unauthorized(f"No write key: send it as the HTTP Basic user name or as writeKey in the body. {WHERE_KEYS_ARE_MADE}")
    if not presented.startswith(WriteKey.MARKER):
        raise _unauthorized(f"That is not a Tend write key: they start with “{WriteKey.MARKER}”. {WHERE_KEYS_ARE_MADE}")
    key = selectors.write_key_by_hash(token_hash(presented))
    if key is None:
        raise _unauthorized(f"This write key is not recognised: check it was copied whole. {WHERE_KEYS_ARE_MADE}")
    if key.revoked_at is not None:
        raise _unauthorized(f"This write key was revoked on {key.revoked_at:%Y-%m-%d}. {WHERE_KEYS_ARE_MADE}")
    return key


def _ingestion(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """POST only, CSRF-exempt (no cookies: the write key authenticates), every answer JSON."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return ApiError(
                405, "method_not_allowed", f"{request.path} takes POST, not {request.method}.", headers={"Allow": "POST"}
            ).response()
        try:
            return view(request, *args, **kwargs)
        except ApiError as error:
            return error.response()
        except Exception as error:  # the last resort: a client reads JSON, whatever happened
            # The type and the frames only: an exception's text may quote the body or a key.
            logger.error(
                "Ingestion request to %s failed with %s:\n%s",
                request.path, type(error).__name__, "".join(traceback.format_tb(error.__traceback__)),
            )
            return json_response(
                {
                    "code": "internal_error",
                    "message": "Tend could not take this request because of an error on its side, which is logged; "
                    "retry it later (messages with the same id are stored once).",
                },
                500,
            )

    return wrapper


def _authorised(presented: object) -> WriteKey:
    """The write key presented (as Basic user name or ``writeKey``), within its rate limit."""
    key = _write_key(presented if isinstance(presented, str) else None)
    rate_limit.check(key)
    with scope(organization=key.organization):
        record_use(key)
    return key


def _store(key: WriteKey, messages: list[parse.Message], source: str) -> parse.IngestResult:
    with scope(organization=key.organization):
        return store_messages(organization=key.organization, messages=messages, source=source)


def _first_problem(parsed: parse.Parsed, noun: str) -> str:
    first = parsed.problems[0]
    return f"First: {noun} {first.index}, {first.field}: {first.message}"


# --- Segment --------------------------------------------------------------------------------------


def _segment_request(request: HttpRequest, limit: int) -> tuple[bytes, dict, WriteKey]:
    """The body, its JSON object and the write key, from the Basic header or ``writeKey``."""
    body = _body(request, limit)
    presented = _basic_username(request)
    key = _authorised(presented) if presented is not None else None  # a wrong key is refused before the JSON is read
    payload = _parse_json(body)
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return body, payload, key or _authorised(payload.get("writeKey"))


def _segment_answer(key: WriteKey, parsed: parse.Parsed) -> HttpResponse:
    """Store the good messages; 200 if there were no others, else a 400 counting and naming the refused."""
    _store(key, parsed.messages, "segment")
    if not parsed.problems:
        return json_response({"success": True})
    accepted, refused = len(parsed.messages), parsed.refused
    return json_response(
        {
            "code": "invalid_messages",
            "message": f"{refused} message{'s' if refused != 1 else ''} refused and {accepted} accepted. "
            + _first_problem(parsed, "message"),
            "accepted": accepted,
            "refused": refused,
            "errors": [problem.as_json() for problem in parsed.problems[:MAX_PROBLEMS_LISTED]],
        },
        400,
    )


@_ingestion
def segment_batch(request: HttpRequest) -> HttpResponse:
    """``POST /v1/batch``: ``{"batch": [message, …], "writeKey"?, "sentAt"?, "context"?}``."""
    body, payload, key = _segment_request(request, SEGMENT_MAX_REQUEST)
    if not isinstance(payload.get("batch"), list):
        raise ApiError(400, "invalid_batch", "The body must be an object with a “batch” array of messages.")
    batch = payload["batch"]
    if not batch:
        raise ApiError(400, "invalid_batch", "The “batch” array is empty.")
    parsed = parse.parse_segment(
        batch, received_at=timezone.now(), sent_at=payload.get("sentAt"), shared_context=payload.get("context"),
        # Each message is only measured when the request could hold one that big.
        max_message_bytes=SEGMENT_MAX_MESSAGE if len(body) > SEGMENT_MAX_MESSAGE else None,
    )
    return _segment_answer(key, parsed)


@_ingestion
def segment_single(request: HttpRequest, kind: str) -> HttpResponse:
    """``POST /v1/track`` (and identify, group, page): one message as the body."""
    _, payload, key = _segment_request(request, SEGMENT_MAX_MESSAGE)
    parsed = parse.parse_segment([payload], received_at=timezone.now(), sent_at=payload.get("sentAt"), only_type=kind)
    return _segment_answer(key, parsed)


# --- Mixpanel ----------------------------------------------------------------------------------------


def _mixpanel_records(body: bytes) -> list:
    """A JSON array, one JSON object, or newline-delimited JSON (one record a line; a line
    that is not JSON is refused on its own, as ``parse.Unreadable``)."""
    stripped = body.strip()
    if stripped.startswith(b"["):
        records = _parse_json(stripped)
        if not isinstance(records, list):
            raise ApiError(400, "invalid_json", "The body must be a JSON array of records or one record a line.")
        return records
    records = []
    for number, line in enumerate(stripped.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            records.append(parse.Unreadable(f"line {number} is not valid JSON: {error}."))
    return records


@_ingestion
def mixpanel_import(request: HttpRequest) -> HttpResponse:
    """``POST /import``: Mixpanel's import API, for backfilling history. ``$insert_id`` is required
    (as Mixpanel's strict mode asks) and deduplicates; ``?group_key=`` names the property that
    holds the account's external id (default ``group_id``). Bad records are refused in
    Mixpanel's own shape (``failed_records``), and the good ones stored."""
    key = _authorised(_basic_username(request))
    body = _body(request, MIXPANEL_MAX_REQUEST)
    records = _mixpanel_records(body)
    if not records:
        raise ApiError(400, "invalid_batch", "No records: send a JSON array of events or one event a line.")
    if len(records) > MIXPANEL_MAX_RECORDS:
        raise ApiError(400, "too_many_records", f"{len(records)} records; at most {MIXPANEL_MAX_RECORDS} a request.")
    group_key = request.GET.get("group_key", "").strip() or "group_id"
    try:
        clean.text(group_key, field="group_key", max_length=parse.MAX_ID_LENGTH)
    except clean.Invalid as invalid:
        raise ApiError(400, "invalid_parameter", f"group_key: {invalid.problem}.") from None
    parsed = parse.parse_mixpanel(records, received_at=timezone.now(), group_key=group_key)
    result = _store(key, parsed.messages, "mixpanel")
    if not parsed.problems:
        return json_response({"code": 200, "num_records_imported": result.stored, "status": "OK"})
    # Mixpanel's own error shape, so its clients report it; plus Tend's message.
    failed = [
        {
            "index": problem.index,
            "$insert_id": _insert_id(records[problem.index]),
            "field": problem.field,
            "message": problem.message,
        }
        for problem in parsed.problems[:MAX_PROBLEMS_LISTED]
    ]
    return json_response(
        {
            "code": 400,
            "error": "some data points in the request failed validation",
            "message": f"{parsed.refused} record(s) refused and {len(parsed.messages)} accepted. "
            + _first_problem(parsed, "record"),
            "failed_records": failed,
            "num_records_imported": result.stored,
            "status": "Bad Request",
        },
        400,
    )


def _insert_id(record: object) -> str | None:
    properties = record.get("properties") if isinstance(record, dict) else None
    value = properties.get("$insert_id") if isinstance(properties, dict) else None
    return value if isinstance(value, str) and not clean.unstorable(value) else None
