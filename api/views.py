"""The read-only JSON API under /api/v1/, and the admins' token pages under /o/<org_slug>/.

API views run inside ``api_view`` (bearer token, GET only, the token's organization
scope); they raise ``ApiError`` for anything the caller must fix.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from django import forms
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Account, AccountStatus, LifecycleStage, Tier
from api import selectors, services
from api.auth import api_view
from cs_platform.api_errors import ApiError
from api.models import ApiToken
from cs_platform import clean
from cs_platform.access import require
from cs_platform.credentials import credential_page
from cs_platform.models import Organization
from cs_platform.tenancy import get_for_org_or_404
from usage.models import AccountUsage

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_PARAMETER_LENGTH = 500
LIST_PARAMETERS = (
    "owner", "tier", "stage", "renewal_before", "renewal_after", "status", "q", "updated_since", "limit", "cursor",
)
STATUS_ALL = "all"
ENDPOINTS = "GET /api/v1/accounts and GET /api/v1/accounts/<id>"

Parsed = TypeVar("Parsed")


# --- Parameters ---------------------------------------------------------------------


def _invalid(name: str, why: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {why}")


def _shown(value: str) -> str:
    """A caller's value quoted back in a message, cut short so a message stays a sentence."""
    return f"“{value[:60]}”" + ("…" if len(value) > 60 else "")


def _check_parameters(params: QueryDict, known: tuple[str, ...]) -> None:
    # A misspelt filter must not quietly return everything.
    unknown = sorted(set(params) - set(known))
    if unknown:
        takes = f"it takes {', '.join(known)}" if known else "it takes none"
        raise _invalid(unknown[0], f"not a parameter of this endpoint; {takes}.")
    for name, values in params.lists():
        for value in values:
            _cleaned(clean.text, name, value, max_length=MAX_PARAMETER_LENGTH)


def _cleaned(parse: Callable[..., Parsed], name: str, value: str, **bounds: Any) -> Parsed:
    """``value`` through ``cs_platform.clean``; a 400 naming the parameter when it cannot be one."""
    try:
        return parse(value, field=name, **bounds)
    except clean.Invalid as invalid:
        shown = "" if clean.unstorable(value) else f"{_shown(value)} "
        raise _invalid(name, f"{shown}{invalid.problem}.") from None


def _parse(params: QueryDict, name: str, parse: Callable[..., Parsed], **bounds: Any) -> Parsed | None:
    """``params[name]`` cleaned by ``parse``, None when absent or empty; a 400 naming it when it cannot be one."""
    value = params.get(name, "").strip()
    if not value:
        return None
    return _cleaned(parse, name, value, **bounds)


def _cursor_salt(organization: Organization) -> str:
    # Per organization: a cursor is only good for the organization that issued it.
    return f"api.accounts.cursor.{organization.pk}"


def _encode_cursor(organization: Organization, last_id: int) -> str:
    return signing.dumps(last_id, salt=_cursor_salt(organization))


def _decode_cursor(organization: Organization) -> Callable[..., int]:
    def decode(value: str, *, field: str) -> int:
        try:
            last_id = signing.loads(value, salt=_cursor_salt(organization))
        except signing.BadSignature:
            last_id = None
        if not isinstance(last_id, int):
            raise clean.Invalid(field, "is not a cursor this API issued; pass next_cursor from the previous page unchanged")
        return last_id

    return decode


def _vocabulary_ids(model: type[Tier] | type[LifecycleStage], name: str, value: str) -> list[int]:
    """Ids of the organization's tiers (or stages) with this public id or name; a 400 if none."""
    ids = selectors.vocabulary_ids(model, value)
    if not ids:
        raise _invalid(name, f"this organization has no {name} named {_shown(value)} or with that id.")
    return ids


def _account_query(params: QueryDict) -> selectors.AccountQuery:
    """The list's filters, validated: every bad value is a 400 naming its parameter."""
    query = selectors.AccountQuery()
    status = params.get("status", "").strip() or AccountStatus.ACTIVE
    if status not in {*AccountStatus.values, STATUS_ALL}:
        raise _invalid("status", f"{_shown(status)} is not one of {', '.join([*AccountStatus.values, STATUS_ALL])}.")
    query.status = None if status == STATUS_ALL else status
    if owner := params.get("owner", "").strip():
        # Matched on the accounts only, never looked up among logins: whether an e-mail
        # has a Tend login elsewhere is no business of this organization's API.
        if "@" in owner:
            query.owner_email = owner
        else:
            query.owner_id = _cleaned(_owner_id, "owner", owner)
    if tier := params.get("tier", "").strip():
        query.tier_ids = _vocabulary_ids(Tier, "tier", tier)
    if stage := params.get("stage", "").strip():
        query.stage_ids = _vocabulary_ids(LifecycleStage, "stage", stage)
    query.renewal_before = _parse(params, "renewal_before", clean.date)
    query.renewal_after = _parse(params, "renewal_after", clean.date)
    query.q = params.get("q", "").strip()
    query.updated_since = _parse(params, "updated_since", clean.moment)
    return query


def _owner_id(value: str, *, field: str) -> int:
    try:
        return clean.integer(value, field=field, minimum=1, maximum=clean.BIGINT_MAX)
    except clean.Invalid:
        raise clean.Invalid(field, "is neither a user id (a number) nor an e-mail address") from None


def _person_json(user) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "email": user.email, "name": user.full_name}


def _usage_json(usage: AccountUsage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {
        "logins_per_week": usage.logins_7d,
        "weekly_active_users": usage.active_users_7d,
        "seats": usage.seats,
        "wau_per_seat": usage.wau_per_seat,
        "feature_adoption_pct": usage.feature_adoption_pct,
        "api_calls_per_week": usage.api_calls_7d,
        "days_since_last_use": usage.days_since_last_use,
        "wow_change_pct": usage.wow_change_pct,
        "trend_4w_pct": usage.trend_4w_pct,
        "computed_at": usage.computed_at.isoformat(),
    }


def _account_json(account: Account) -> dict[str, Any]:
    try:
        usage = account.usage  # select_related: no query, raises when the account has no metrics yet
    except AccountUsage.DoesNotExist:
        usage = None
    return {
        "id": account.public_id,
        "name": account.name,
        "external_ids": {row.source: row.external_id for row in account.external_ids.all()},
        "tier": account.tier.name if account.tier else None,
        "stage": account.stage.name if account.stage else None,
        "owner": _person_json(account.owner),
        "arr": account.arr,
        "currency": account.currency,
        "renewal_date": account.renewal_date.isoformat() if account.renewal_date else None,
        "status": account.status,
        "updated_at": account.updated_at.isoformat(),
        "last_seen_at": usage.last_seen_at.isoformat() if usage and usage.last_seen_at else None,
        "usage": _usage_json(usage),
    }


@api_view
def account_list(request: HttpRequest) -> JsonResponse:
    """Accounts in id order, a page at a time: pass ``next_cursor`` back as ``cursor``.

    Filters: owner (user id or e-mail), tier and stage (name or id), renewal_before and
    renewal_after (dates, exclusive), status (active by default, churned, or all),
    q (name contains), updated_since (date-time, inclusive).
    """
    params = request.GET
    _check_parameters(params, LIST_PARAMETERS)
    limit = _parse(params, "limit", clean.integer, minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
    after = _parse(params, "cursor", _decode_cursor(request.organization))
    query = _account_query(params)
    query.after_id = after
    accounts = selectors.accounts_matching(query)
    # One row more than the page tells whether there is a next page, without a count.
    page = list(accounts[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return JsonResponse(
        {
            "data": [_account_json(account) for account in page],
            "next_cursor": _encode_cursor(request.organization, page[-1].id) if more else None,
        }
    )


@api_view
def account_detail(request: HttpRequest, account: str) -> JsonResponse:
    """One account by its id, whatever its status."""
    _check_parameters(request.GET, ())
    try:
        if clean.unstorable(account):  # no id has a NUL, and PostgreSQL text cannot hold one
            raise Http404
        row = get_for_org_or_404(selectors.accounts_for_api(), account)
    except Http404:
        raise ApiError(404, "not_found", f"No account has the id {_shown(account)}.") from None
    return JsonResponse(_account_json(row))


def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other address under /api/v1/: a JSON 404 rather than an HTML page."""
    return ApiError(404, "not_found", f"There is no API endpoint at {request.path}; there are {ENDPOINTS}.").response()


# --- Token pages ----------------------------------------------------------------------


class ApiTokenForm(forms.Form):
    label = forms.CharField(
        max_length=100, help_text="What will use it, so you know later which token to revoke: “Data warehouse sync”."
    )


@require("api_tokens.manage")
def api_tokens(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The organization's tokens, and the form making a new one (shown once)."""
    return credential_page(
        request, model=ApiToken, form_class=ApiTokenForm, template="api/tokens.html",
        context={"tokens": selectors.api_tokens(), "api_url": request.build_absolute_uri(reverse("api_v1:accounts"))},
    )


@require("api_tokens.manage")
@require_POST
def api_token_revoke(request: HttpRequest, org_slug: str, token: str) -> HttpResponse:
    row = get_for_org_or_404(ApiToken.objects.all(), token)
    try:
        services.api_token_revoke(token=row, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Revoked “{row.label}” ({row.prefix}…). Anything still using it is refused from its next request."
        )
    return redirect("api:tokens", org_slug=org_slug)
