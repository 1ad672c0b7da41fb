"""Sign-in's guards: the lock-out counts one address however it is typed, and reset mails are rate-limited."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from cs_platform.models import normalize_address


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """django-axes' key for an attempt (``AXES_USERNAME_CALLABLE``): the normalised address."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        typed = credentials.get(field)
    else:
        typed = getattr(request, "data", request.POST).get(field)
    return normalize_address(typed) if isinstance(typed, str) else typed
