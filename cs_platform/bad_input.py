"""Bad input answered with a 400 and a sentence, never a 5xx: requests Tend cannot read at
all (NUL or non-UTF-8 in the path, query string or form body) are refused before any view
runs, and a ``clean.Invalid`` a view lets escape becomes the same answer."""

from __future__ import annotations

import json
from typing import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cs_platform import clean
from cs_platform.api_errors import ApiError

# Machines' addresses: their errors are JSON {"code", "message"}, not pages.
JSON_PATH_PREFIXES = ("/api/", "/v1/", "/import")
FORM_BODY = "application/x-www-form-urlencoded"
NOT_UTF8 = "is not UTF-8 text; send it as UTF-8"


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PATH_PREFIXES)


def bad_request(request: HttpRequest, message: str, *, code: str = "invalid_input", retry_url: str = "") -> HttpResponse:
    """A 400 with ``message``: JSON for the APIs, a short page for people (with a way on)."""
    if wants_json(request):
        return ApiError(400, code, message).response()
    return render(request, "400.html", {"message": message, "retry_url": retry_url}, status=400)


def _problem(raw: bytes) -> str | None:
    """Why these (percent-decoded) bytes cannot be read as text, or None."""
    try:
        return clean.unstorable(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return NOT_UTF8


def _pairs_problem(encoded: bytes) -> tuple[str, str] | None:
    """The first ``name=value`` of a query string or form body that cannot be read, and why."""
    for pair in encoded.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        name, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in (raw_name, raw_value))
        shown = json.dumps(name.decode("utf-8", errors="replace"))[1:-1][:40]  # a NUL shows as \u0000
        if why := _problem(name):
            return shown, f"has a name that {why}"
        if why := _problem(value):
            return shown, why
    return None


def _form_problem(request: HttpRequest) -> tuple[str, str] | None:
    if request.method in ("GET", "HEAD", "OPTIONS") or wants_json(request):
        # The ingestion APIs read their own (JSON, possibly large) bodies, within their own limits.
        return None
    if request.content_type == FORM_BODY:
        return _pairs_problem(request.body)
    if request.content_type == "multipart/form-data":
        # Field values only: uploaded files are the importers' to check, cell by cell.
        for name, values in request.POST.lists():
            for text in (name, *values):
                if why := clean.unstorable(text):
                    return name, why
    return None


class BadInputMiddleware:
    """Placed before the tenancy middleware, so no view or query ever sees such a request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # WSGI hands the path and query string over as one character per byte (ISO-8859-1);
        # the path is decoded once more, as some servers (and Django's test client) leave it escaped.
        path = request.META.get("PATH_INFO", "").encode("iso-8859-1", errors="replace")
        if why := _problem(unquote_to_bytes(path)):
            return bad_request(request, f"The address {why}.")
        query = request.META.get("QUERY_STRING", "").encode("iso-8859-1", errors="replace")
        if found := _pairs_problem(query):
            name, why = found
            if wants_json(request):
                return bad_request(request, f"{name}: {why}.", code="invalid_parameter")
            return bad_request(request, f"The address's “{name}” {why}.", retry_url=request.path)
        if found := _form_problem(request):
            name, why = found
            return bad_request(request, f"The form's field “{name}” {why}.", retry_url=request.path)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, clean.Invalid):
            return bad_request(request, exception.sentence, retry_url=request.path)
        return None
