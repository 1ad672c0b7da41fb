"""CSV export of the portfolio: the rows of the portfolio page, streamed as they are read.

One query whatever the size: the portfolio's own annotations carry the next action,
and the external ids are aggregated in the database (a prefetch would not work with
``.iterator()`` chunks on every Django version, and costs a query per chunk where it does).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.contrib.postgres.aggregates import StringAgg
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone

from accounts.models import Account, AccountExternalId

HEADER = [
    "Name", "External ids", "Tier", "Stage", "Owner email", "ARR", "Currency", "Renewal date",
    "Last contact", "Last seen", "Next action", "Next action due", "Priority", "Status",
]
CHUNK_SIZE = 2000
CENTS = Decimal("0.01")
# A cell starting with one of these is run as a formula by Excel and friends.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """The file-like object ``csv.writer`` wants; each write hands back the line to stream."""

    def write(self, line: str) -> str:
        return line


def _cell(value: object) -> object:
    """Every text cell neutralised: names, ids, e-mails and titles come from people and other
    systems, and a leading "=" must never run as a formula. Numbers and dates are Tend's own."""
    if value is None:
        return ""
    if isinstance(value, (Decimal, dt.date)):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _date(value: dt.date | dt.datetime | None) -> dt.date | None:
    """A date only (written ISO): a datetime is already in the organization's time zone here."""
    if value is None:
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def with_external_ids(queryset: QuerySet[Account]) -> QuerySet[Account]:
    """Annotate ``external_ids_joined``: "source:id; source:id", in one subquery per row."""
    joined = (
        AccountExternalId.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(
            joined=StringAgg(
                Concat(F("source"), Value(":"), F("external_id")), delimiter="; ", order_by=("source", "external_id")
            )
        )
        .values("joined")
    )
    return queryset.annotate(external_ids_joined=Subquery(joined))


def portfolio_csv(queryset: QuerySet[Account], *, time_zone: dt.tzinfo | None = None) -> Iterator[str]:
    """The lines of the CSV file for ``queryset`` (from ``accounts.selectors.portfolio``).

    "Last contact" is the date in ``time_zone`` (the organization's), else the server's.

    The queryset is completed here, before the first line is asked for: the response
    streams after the view returns, outside the organization's scope, and a scoped
    manager refuses to build a query there (the already-built one runs fine).
    """
    accounts = with_external_ids(queryset).select_related("tier", "stage", "owner")
    return _lines(accounts, time_zone or timezone.get_current_timezone())


def _lines(accounts: QuerySet[Account], time_zone: dt.tzinfo) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # The byte-order mark makes Excel read the file as UTF-8; Tend's import accepts it.
    yield "\ufeff" + writer.writerow(HEADER)
    for account in accounts.iterator(chunk_size=CHUNK_SIZE):
        row = [
            account.name,
            account.external_ids_joined,
            account.tier.name if account.tier else "",
            account.stage.name if account.stage else "",
            account.owner.email if account.owner else "",
            (Decimal(account.arr) / 100).quantize(CENTS),
            account.currency,
            _date(account.renewal_date),
            _date(timezone.localtime(account.last_contacted_at, time_zone) if account.last_contacted_at else None),
            # When the account last used the product (usage rollups), in the same time zone.
            _date(timezone.localtime(account.last_seen_at, time_zone) if account.last_seen_at else None),
            account.next_action_title,
            _date(account.next_action_due),
            account.get_priority_display(),
            account.get_status_display(),
        ]
        yield writer.writerow([_cell(value) for value in row])
