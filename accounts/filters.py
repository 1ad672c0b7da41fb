"""The portfolio's filters, read from a query string: shared by the portfolio page and its CSV export."""

from __future__ import annotations

from django.http import QueryDict

from accounts.models import AccountStatus, Priority
from accounts.selectors import PORTFOLIO_SORTS, PortfolioFilters

MAX_SEARCH_LENGTH = 200
MAX_RENEWAL_DAYS = 3650


def _owner(value: str) -> str:
    return value if value in {"", "me", "none"} or value.isdigit() else ""


def _renewal_days(value: str) -> int | None:
    return min(int(value), MAX_RENEWAL_DAYS) if value.strip().isdigit() else None


def portfolio_filters_from_query(query: QueryDict, *, me_id: int, default_owner: str) -> PortfolioFilters:
    """``PortfolioFilters`` from ``owner, tier, stage, renewal, priority, status, q, sort, dir``.

    A hand-edited or stale link never errors: a value that makes no sense is ignored
    (that filter is off; for ``status``, the default). An absent ``owner`` means
    ``default_owner``, an empty one everyone; an absent ``status`` means active
    accounts, an empty one every status.
    """
    status = query.get("status", AccountStatus.ACTIVE)
    sort = query.get("sort", "name")
    priority = query.get("priority", "")
    return PortfolioFilters(
        owner=_owner(query.get("owner", default_owner)),
        tier=query.get("tier", "").strip(),
        stage=query.get("stage", "").strip(),
        renewal_within_days=_renewal_days(query.get("renewal", "")),
        priority=priority if priority in Priority.values else "",
        status=status if status in {*AccountStatus.values, ""} else AccountStatus.ACTIVE,
        q=query.get("q", "").strip()[:MAX_SEARCH_LENGTH],
        sort=sort if sort in PORTFOLIO_SORTS else "name",
        descending=query.get("dir") == "desc",
        me_id=me_id,
    )
