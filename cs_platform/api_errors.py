"""The JSON errors of Tend's machine-facing endpoints (the API, ingestion, the bad-input
guard): ``{"code": "<stable code>", "message": "<a sentence>"}``, with extra fields where
an endpoint has more to say (which messages of a batch were refused, say)."""

from __future__ import annotations

import orjson
from django.http import HttpResponse


def json_response(payload: dict, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(orjson.dumps(payload), status=status, content_type="application/json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class ApiError(Exception):
    """An error answered to the caller as JSON with a stable ``code``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self, **extra: object) -> HttpResponse:
        return json_response({"code": self.code, "message": self.message, **extra}, self.status, self.headers)
