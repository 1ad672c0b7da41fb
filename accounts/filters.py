"""The portfolio's filters as they travel in a URL: parsed once for the page and the CSV export."""

from __future__ import annotations

from django.http import QueryDict

from accounts.models import Priority
from accounts.selectors import PORTFOLIO_SORTS, PortfolioFilters


def portfolio_filters_from_query(query: QueryDict, *, me_id: int, default_owner: str) -> PortfolioFilters:
    """Read filters from a query string; anything malformed falls back to "no filter"."""
    renewal = query.get("renewal", "")
    priority = query.get("priority", "")
    sort = query.get("sort", "name")
    return PortfolioFilters(
        owner=query.get("owner", default_owner),
        tier=query.get("tier", ""),
        stage=query.get("stage", ""),
        renewal_within_days=int(renewal) if renewal.isdigit() else None,
        priority=priority if priority in Priority.values else "",
        status=query.get("status", "active") if query.get("status", "active") in {"active", "churned", ""} else "active",
        q=query.get("q", "")[:200],
        sort=sort if sort in PORTFOLIO_SORTS else "name",
        descending=query.get("dir") == "desc",
        me_id=me_id,
    )
