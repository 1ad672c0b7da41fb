"""The API's front door: who is calling, and errors in the shape machines read.

A request names no organization in its URL; its bearer token does. ``api_view``
resolves the token, enters that organization's scope and runs the view inside it,
so the view's queries are confined exactly as an organization page's are.

Every error is JSON, ``{"code": ..., "message": ...}``: ``code`` is stable for
programs to branch on, ``message`` is a sentence for the person reading the logs.
"""

from __future__ import annotations

from functools import wraps
from typing import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope, scopes_disabled

from api.models import ApiToken
from cs_platform.api_errors import ApiError
from cs_platform.credentials import record_use
from cs_platform.models import Organization
from cs_platform.selectors import token_hash

WHERE_TOKENS_ARE_MADE = "An admin can create one under Settings → API tokens."


def _unauthorized(message: str, *, error: str | None = None) -> ApiError:
    # RFC 6750: tell the client the scheme, and whether the request or the token was at fault.
    challenge = 'Bearer realm="Tend API"' + (f', error="{error}"' if error else "")
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": challenge})


def _presented_token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "").strip()
    if not header:
        raise _unauthorized(
            f"Send an API token in the Authorization header: “Authorization: Bearer tend_…”. {WHERE_TOKENS_ARE_MADE}"
        )
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer":
        # The credentials themselves are never echoed: they may be a password.
        raise _unauthorized(
            f"The Authorization header must read “Bearer <token>”, not start with “{scheme[:20]}”.",
            error="invalid_request",
        )
    if not credentials:
        raise _unauthorized("The Authorization header says “Bearer” but no token follows it.", error="invalid_request")
    if not credentials.startswith(ApiToken.MARKER) or any(character.isspace() for character in credentials):
        raise _unauthorized(
            f"That is not a Tend API token: they are one word starting with “{ApiToken.MARKER}”.", error="invalid_request"
        )
    return credentials


def authenticate(request: HttpRequest) -> tuple[Organization, ApiToken]:
    """The organization and token a request's bearer token stands for; raises a 401 ``ApiError``."""
    presented = _presented_token(request)
    # A token names no organization, so finding it crosses tenants by nature: the
    # unguessable hash is what confines the lookup, and the scope entered from its
    # organization confines everything after it.
    with scopes_disabled():
        token = ApiToken.objects.select_related("organization").filter(token_hash=token_hash(presented)).first()
    if token is None:
        raise _unauthorized(
            f"This API token is not recognised: check it was copied whole. {WHERE_TOKENS_ARE_MADE}",
            error="invalid_token",
        )
    if token.revoked_at is not None:
        raise _unauthorized(
            f"This API token was revoked on {token.revoked_at:%Y-%m-%d}. {WHERE_TOKENS_ARE_MADE}",
            error="invalid_token",
        )
    with scope(organization=token.organization):
        record_use(token)
    return token.organization, token


def api_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a read-only API view: GET only, bearer token required, run in the token's scope.

    The view may raise ``ApiError``; it becomes the JSON error response.
    """

    # Exempt from CSRF because the API ignores cookies: a cross-site page cannot make
    # a browser attach someone's bearer token. Non-GET methods get a JSON 405 below.
    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            if request.method != "GET":
                raise ApiError(
                    405,
                    "method_not_allowed",
                    f"The API is read-only: {request.path} answers GET, not {request.method}.",
                    headers={"Allow": "GET"},
                )
            organization, token = authenticate(request)
            request.organization, request.api_token = organization, token
            with scope(organization=organization):
                response = view(request, *args, **kwargs)
        except ApiError as error:
            response = error.response()
        # Tenant data: no shared cache may keep it, and no browser history either.
        add_never_cache_headers(response)
        return response

    return wrapper
