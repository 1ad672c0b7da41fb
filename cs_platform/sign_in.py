"""Sign-in's guards: the lock-out counts one address however it is typed, and reset mails are rate-limited."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from cs_platform.models import PasswordResetRequest, normalize_address

PASSWORD_RESET_WINDOW = timedelta(hours=1)


def lockout_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """django-axes' key for an attempt (``AXES_USERNAME_CALLABLE``): the normalised address."""
    field = settings.AXES_USERNAME_FORM_FIELD
    if credentials:
        typed = credentials.get(field)
    else:
        typed = getattr(request, "data", request.POST).get(field)
    return normalize_address(typed) if isinstance(typed, str) else typed


def password_reset_allowed(*, email: str, ip_address: str | None) -> bool:
    """Note a request for a reset mail to ``email``; whether the mail may go.

    At most ``PASSWORD_RESET_LIMIT_PER_ADDRESS`` requests an hour to one address get
    their mail, and ``PASSWORD_RESET_LIMIT_PER_IP`` from one IP address. Counted in
    PostgreSQL, which every web process shares and no Redis restart forgets.
    """
    now = timezone.now()
    since = now - PASSWORD_RESET_WINDOW
    PasswordResetRequest.objects.filter(created_at__lt=since).delete()
    # Saved (committed) before counting, and counted up to its own id: of requests that
    # arrive together, each sees the ones before it, so a burst gets no extra mails.
    request = PasswordResetRequest.objects.create(email=normalize_address(email), ip_address=ip_address, created_at=now)
    up_to_this_one = PasswordResetRequest.objects.filter(created_at__gte=since, id__lte=request.id)
    if up_to_this_one.filter(email=request.email).count() > settings.PASSWORD_RESET_LIMIT_PER_ADDRESS:
        return False
    return ip_address is None or up_to_this_one.filter(ip_address=ip_address).count() <= settings.PASSWORD_RESET_LIMIT_PER_IP
