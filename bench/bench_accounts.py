"""What the book of business costs at scale: the portfolio and the Account 360 over a
generated organization of 100,000 accounts and a million timeline entries.

Each page is timed through Django's full stack (test client, signed in as a CSM) and
reported against two floors measured in the same run: ``/healthz/`` (the price of the
stack itself) and, for the portfolio, its main query alone (the same SELECT … LIMIT 50,
compiled from the page's own filters and run through a cursor), so ``ratio_raw`` is what
the page adds on top of the query: the count, the other queries and the template.

``BENCH_ACCOUNTS`` / ``BENCH_ACTIVITIES`` shrink the organization for a quick run;
``BENCH_REPEAT`` sets the requests per figure.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterator

from django.core.paginator import Paginator
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from accounts import selectors
from accounts.filters import portfolio_filters_from_query
from bench.generate import generate
from bench.timing import measure
from cs_platform.models import Organization

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", 100_000))
ACTIVITIES = int(os.environ.get("BENCH_ACTIVITIES", 1_000_000))
REPEAT = int(os.environ.get("BENCH_REPEAT", 50))
WARMUP = 5
PAGE_SIZE = 50  # the portfolio's page size (accounts.views.PORTFOLIO_PAGE_SIZE)

# What a CSM does on the portfolio: the default is their own accounts.
PORTFOLIO_QUERIES = [
    ("everyone", "owner="),
    ("mine", ""),
    ("renewal_60", "renewal=60"),
    ("search", "q=hydroponics"),
    ("sort_arr_desc", "sort=arr&dir=desc"),
    ("page_50", "page=50"),
]


def run() -> Iterator[dict]:
    organization = Organization.objects.create(name="Bench Scale", slug="bench-scale")
    started = time.perf_counter()
    book = generate(organization, accounts=ACCOUNTS, activities=ACTIVITIES)
    yield {
        "name": "accounts.generate", "accounts": ACCOUNTS, "activities": ACTIVITIES,
        "seconds": round(time.perf_counter() - started, 2), "by_table_s": book.seconds,
    }
    csm = book.csms[0]  # owns the heaviest account, and a share of the book
    client = Client()
    client.force_login(csm)

    floor = measure(_get(client, "/healthz/"), repeat=REPEAT * 2, warmup=WARMUP)
    yield {"name": "accounts.empty_view", **floor, "ratio": 1.0}

    portfolio = reverse("accounts:portfolio", kwargs={"org_slug": organization.slug})
    for name, query in PORTFOLIO_QUERIES:
        sql, params, page = _portfolio_sql(organization, query, me_id=csm.pk)
        raw = measure(lambda: _execute(sql, params), repeat=REPEAT, warmup=WARMUP)
        figures = measure(_get(client, f"{portfolio}?{query}"), repeat=REPEAT, warmup=WARMUP)
        yield {
            "name": f"accounts.portfolio_{name}", **figures, "ratio": _ratio(figures, floor), "floor": "empty_view",
            "query": query, "page": page, "raw_p50_ms": raw["p50_ms"], "raw_p95_ms": raw["p95_ms"],
            "ratio_raw": _ratio(figures, raw),
        }

    detail = reverse("accounts:account_detail", kwargs={"org_slug": organization.slug, "account": book.heavy_account})
    figures = measure(_get(client, detail), repeat=REPEAT, warmup=WARMUP)
    with scope(organization=organization):
        entries = selectors.account_for_360(book.heavy_account).activities.count()
    yield {"name": "accounts.account_360", **figures, "ratio": _ratio(figures, floor), "floor": "empty_view", "activities": entries}


def _get(client: Client, path: str) -> Callable[[], None]:
    def request() -> None:
        response = client.get(path)
        # Fail loudly: timing a 404 or an error page would be a figure about nothing.
        assert response.status_code == 200, (path, response.status_code)

    return request


def _portfolio_sql(organization: Organization, query: str, *, me_id: int) -> tuple[str, tuple, int]:
    """The page's main query, for the same filters and page, as SQL and parameters."""
    with scope(organization=organization):
        filters = portfolio_filters_from_query(QueryDict(query), me_id=me_id, default_owner="me")
        accounts = selectors.portfolio(filters)
        page = Paginator(accounts, PAGE_SIZE).get_page(QueryDict(query).get("page")).number
        offset = (page - 1) * PAGE_SIZE
        sql, params = accounts[offset:offset + PAGE_SIZE].query.sql_with_params()
    return sql, params, page


def _execute(sql: str, params: tuple) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        cursor.fetchall()


def _ratio(figures: dict[str, float], floor: dict[str, float]) -> float:
    return round(figures["p50_ms"] / floor["p50_ms"], 2)
