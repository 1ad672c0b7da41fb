"""Reads of the API: accounts as the JSON API serves them, filtered by a validated query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Account, AccountExternalId, LifecycleStage, Tier
from api.models import ApiToken


@dataclass
class AccountQuery:
    """The list endpoint's filters, already checked by the view."""

    status: str | None = None  # None: every status
    owner_id: int | None = None
    owner_email: str = ""
    tier_ids: list[int] | None = None
    stage_ids: list[int] | None = None
    renewal_before: dt.date | None = None  # exclusive
    renewal_after: dt.date | None = None  # exclusive
    q: str = ""
    updated_since: dt.datetime | None = None  # inclusive
    after_id: int | None = None  # the cursor: rows after this id


def accounts_for_api() -> QuerySet[Account]:
    """Accounts with everything their JSON needs, in a fixed number of queries.

    ``usage`` (the reverse one-to-one to the account's usage metrics) is a LEFT JOIN:
    an account with none gets no row and no extra query.
    """
    return Account.objects.select_related("tier", "stage", "owner", "usage").prefetch_related(
        Prefetch("external_ids", queryset=AccountExternalId.objects.order_by("source", "id"))
    )


def accounts_matching(query: AccountQuery) -> QuerySet[Account]:
    """In id order, for cursor pagination (served by the (organization, id) index)."""
    accounts = accounts_for_api()
    if query.status is not None:
        accounts = accounts.filter(status=query.status)
    if query.owner_id is not None:
        accounts = accounts.filter(owner_id=query.owner_id)
    if query.owner_email:
        accounts = accounts.filter(owner__email__iexact=query.owner_email)
    if query.tier_ids is not None:
        accounts = accounts.filter(tier_id__in=query.tier_ids)
    if query.stage_ids is not None:
        accounts = accounts.filter(stage_id__in=query.stage_ids)
    if query.renewal_before is not None:
        accounts = accounts.filter(renewal_date__lt=query.renewal_before)
    if query.renewal_after is not None:
        accounts = accounts.filter(renewal_date__gt=query.renewal_after)
    if query.q:
        accounts = accounts.filter(name__icontains=query.q)
    if query.updated_since is not None:
        accounts = accounts.filter(updated_at__gte=query.updated_since)
    if query.after_id is not None:
        accounts = accounts.filter(id__gt=query.after_id)
    return accounts.order_by("id")


def vocabulary_ids(model: type[Tier] | type[LifecycleStage], value: str) -> list[int]:
    """Ids of the organization's tiers (or stages) whose public id or name is ``value``."""
    return list(model.objects.filter(Q(public_id=value) | Q(name__iexact=value)).values_list("id", flat=True))


def api_tokens() -> QuerySet[ApiToken]:
    """The organization's tokens for the settings page: newest first, revoked ones too."""
    return ApiToken.objects.select_related("created_by").order_by("-created_at", "-id")
