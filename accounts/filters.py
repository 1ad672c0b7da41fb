"""The portfolio's filters, read from a query string: shared by the portfolio page and its CSV export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import QueryDict

from accounts.models import AccountStatus, Priority
from accounts.selectors import PORTFOLIO_SORTS, PortfolioFilters
from cs_platform import clean

MAX_SEARCH_LENGTH = 200
MAX_RENEWAL_DAYS = 3650
MAX_PUBLIC_ID_LENGTH = 32

# Each parameter as the filter bar names it, for the sentence that says what to fix.
LABELS = {
    "owner": "CSM", "tier": "Tier", "stage": "Stage", "renewal": "Renewal", "priority": "Priority",
    "status": "Status", "q": "Search", "sort": "Sort", "dir": "Direction",
}


class InvalidFilters(clean.Invalid):
    """Parameters that cannot be filters: a sentence for each, and the filters without them."""

    def __init__(self, errors: dict[str, clean.Invalid], filters: PortfolioFilters):
        first = next(iter(errors.values()))
        super().__init__(first.field, first.problem)
        self.errors, self.filters = errors, filters

    @property
    def sentence(self) -> str:
        return " ".join(error.sentence for error in self.errors.values())


def _owner(value: str) -> str:
    text = clean.text(value, field=LABELS["owner"], max_length=20)
    if text in {"", "me", "none"}:
        return text
    try:
        return str(clean.integer(text, field=LABELS["owner"], minimum=1, maximum=clean.BIGINT_MAX))
    except clean.Invalid:
        raise clean.Invalid(LABELS["owner"], "must be one of the people listed, “me” or “none”") from None


def _renewal_days(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        return clean.integer(value, field=LABELS["renewal"], minimum=0, maximum=MAX_RENEWAL_DAYS)
    except clean.Invalid:
        raise clean.Invalid(
            LABELS["renewal"], f"must be a number of days from 0 to {MAX_RENEWAL_DAYS}, such as 30, 60, 90 or 180"
        ) from None


def _one_of(name: str, choices: list[str]) -> Callable[[str], str]:
    """One of ``choices``, or empty (that filter off)."""

    def parse(value: str) -> str:
        value = value.strip()
        return value and clean.choice(value, field=LABELS[name], choices=choices)

    return parse


def _text(name: str, max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        return clean.text(value, field=LABELS[name], max_length=max_length)

    return parse


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    # parameter: (PortfolioFilters attribute, parser)
    "owner": ("owner", _owner),
    "tier": ("tier", _text("tier", MAX_PUBLIC_ID_LENGTH)),
    "stage": ("stage", _text("stage", MAX_PUBLIC_ID_LENGTH)),
    "renewal": ("renewal_within_days", _renewal_days),
    "priority": ("priority", _one_of("priority", Priority.values)),
    "status": ("status", _one_of("status", AccountStatus.values)),
    "q": ("q", _text("q", MAX_SEARCH_LENGTH)),
    "sort": ("sort", lambda value: _one_of("sort", list(PORTFOLIO_SORTS))(value) or "name"),
    "dir": ("descending", lambda value: _one_of("dir", ["asc", "desc"])(value) == "desc"),
}


def portfolio_filters_from_query(query: QueryDict, *, me_id: int, default_owner: str) -> PortfolioFilters:
    """``PortfolioFilters`` from ``owner, tier, stage, renewal, priority, status, q, sort, dir``.

    An absent ``owner`` means ``default_owner``, an empty one everyone; an absent
    ``status`` means active accounts, an empty one every status. A value that cannot
    be one (``renewal=soon``, ``owner=²``) raises ``InvalidFilters`` naming each such
    parameter, rather than being ignored: a filter silently off shows a CSM the wrong
    book. Nothing here queries, so the CSV export checks its filters before it streams.
    """
    values: dict[str, Any] = {"owner": default_owner}
    errors: dict[str, clean.Invalid] = {}
    for name, (attribute, parse) in _PARSERS.items():
        if name not in query:
            continue
        try:
            values[attribute] = parse(query[name])
        except clean.Invalid as error:
            errors[name] = error
    filters = PortfolioFilters(**values, me_id=me_id)
    if errors:
        raise InvalidFilters(errors, filters)
    return filters
