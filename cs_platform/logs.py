"""What reaches a log: no secret from any record of any process, and client errors on one line.

``install`` replaces the process's log-record factory, so every record is redacted as it is
made, whichever logger made it and whichever handlers (Django's, Celery's, gunicorn's, an
operator's) write it out. Every Django process calls it on start (``CsPlatformConfig.ready``).
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Iterable

REDACTED = "[redacted]"

# A credential's secret past its marker is this long (token_urlsafe(32): 43 characters);
# a shorter run is some other word that happens to start like one (a database "tend_auth").
_MIN_SECRET_LENGTH = 16

_ALWAYS: list[tuple[re.Pattern[str], str]] = [
    # Authorization header values, however printed: "Authorization: Basic …", 'HTTP_AUTHORIZATION': '…'.
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)[^'\"\r\n,}]+"), rf"\1{REDACTED}"),
    # HTTP credentials anywhere else: "Bearer eyJ…", "Basic dGVu…" (capitalised, as in headers,
    # and long, so that prose such as "basic configuration" is left alone).
    (re.compile(r"\b(Basic|Bearer)\s+[A-Za-z0-9._~+/-]{16,}=*"), rf"\1 {REDACTED}"),
    # Passwords in connection strings: postgresql://user:SECRET@host, redis://:SECRET@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]*:)[^\s@]+@"), rf"\1{REDACTED}@"),
    # …and in libpq's keyword form: "host=db password=SECRET".
    (re.compile(r"(?i)\b(password\s*=\s*)('[^']*'|[^\s'\"&]+)"), rf"\1{REDACTED}"),
    # Link tokens in paths (invitations, password resets), e.g. in "Not Found: /invitations/…/".
    (re.compile(r"(/invitations/)[^/\s?\"']+"), rf"\1{REDACTED}"),
    (re.compile(r"(/auth/reset/[^/\s?\"']+/)[^/\s?\"']+"), rf"\1{REDACTED}"),
]
_patterns: list[tuple[re.Pattern[str], str]] = list(_ALWAYS)


def redact(text: str) -> str:
    """``text`` with every secret Tend knows the shape of replaced by ``[redacted]``."""
    for pattern, replacement in _patterns:
        text = pattern.sub(replacement, text)
    return text


def redact_record(record: logging.LogRecord) -> None:
    """Redact ``record`` in place: its message (formatted now, with its args), traceback and stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed logging call; logging's own error report would print its args
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = redact(message), ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters use exc_text when it is set, so the traceback is written redacted.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _make_redacting_factory(make_record):
    def redacting_factory(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacts_secrets = True  # type: ignore[attr-defined]
    return redacting_factory


def install(*, markers: Iterable[str] = ()) -> None:
    """Redact every log record this process makes from now on; ``markers`` start credentials.

    Idempotent: a second call only updates the markers.
    """
    global _patterns
    marker_patterns = [
        (re.compile(rf"(?<![A-Za-z0-9]){re.escape(marker)}[A-Za-z0-9_-]{{{_MIN_SECRET_LENGTH},}}"), f"{marker}{REDACTED}")
        for marker in sorted(set(markers), key=len, reverse=True)
    ]
    _patterns = [*marker_patterns, *_ALWAYS]
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "redacts_secrets", False):
        logging.setLogRecordFactory(_make_redacting_factory(factory))


class ClientErrorsOnOneLine(logging.Filter):
    """A refused request (403, 404, 400…) is the client's business: one line, not a traceback.

    Django logs each 4xx response with the exception that caused it; the traceback says
    nothing an operator needs and buries real errors. Server errors keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info, record.exc_text = None, None
        return True
