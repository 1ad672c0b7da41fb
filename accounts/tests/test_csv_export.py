"""CSV export of the portfolio: the page's filters, every column, one query, streamed."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from accounts.exports import HEADER
from accounts.filters import InvalidFilters, portfolio_filters_from_query
from accounts.models import Account, LifecycleStage
from accounts.selectors import PortfolioFilters
from accounts.services import account_create, account_set_external_id, task_create, tier_save
from cs_platform.models import Role
from tests.factories import member

EXPORT_URL = "/o/flowfuse/accounts/export.csv"


@pytest.fixture
def book(org, csm):
    """Four accounts: owned and not, two tiers, one churned, one whose name looks like a formula."""
    today = timezone.localdate()
    with scope(organization=org):
        premium = tier_save(organization=org, actor=None, name="Premium")
        starter = tier_save(organization=org, actor=None, name="Starter")
        adoption = LifecycleStage.objects.get(name="Adoption")
        acme = account_create(
            organization=org, actor=None, name="Acme Corp", tier=premium, stage=adoption, owner=csm, arr=1_250_050,
            renewal_date=today + dt.timedelta(days=30), priority="high", external_ids={"csv": "A-1"},
        )
        account_set_external_id(account=acme, source="hubspot", external_id="9001")
        task_create(account=acme, actor=None, title="Later call", due_date=today + dt.timedelta(days=9))
        task_create(account=acme, actor=None, title="Kickoff call", due_date=today + dt.timedelta(days=2))
        Account.objects.filter(pk=acme.pk).update(last_contacted_at=timezone.make_aware(dt.datetime(2026, 1, 15, 10)))
        beta = account_create(
            organization=org, actor=None, name="Beta GmbH", tier=starter, arr=90_000, renewal_date=today + dt.timedelta(days=200)
        )
        formula = account_create(organization=org, actor=None, name="=HYPERLINK(\"http://evil\")", tier=starter)
        gone = account_create(organization=org, actor=None, name="Gone Ltd", status="churned")
    return {"acme": acme, "beta": beta, "formula": formula, "gone": gone, "premium": premium}


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    return rows[1:]


def _names(response) -> list[str]:
    """The names exported, sorted here: ordering by name is the database collation's business."""
    return sorted(row[0] for row in _rows(response))


def test_export_has_every_column(client, org, viewer, book):
    client.force_login(viewer)  # reading is open to every member
    response = client.get(EXPORT_URL)
    assert response["Content-Disposition"].startswith('attachment; filename="flowfuse-portfolio-')
    rows = {row[0]: row for row in _rows(response)}
    today = timezone.localdate()
    assert rows["Acme Corp"] == [
        "Acme Corp", "csv:A-1; hubspot:9001", "Premium", "Adoption", "csm@flowfuse.example", "12500.50", org.currency,
        (today + dt.timedelta(days=30)).isoformat(), "2026-01-15", "", "Kickoff call",
        (today + dt.timedelta(days=2)).isoformat(), "High", "Active",
    ]
    assert rows["Beta GmbH"][1:8] == ["", "Starter", "", "", "900.00", org.currency, (today + dt.timedelta(days=200)).isoformat()]
    assert rows["Beta GmbH"][8:] == ["", "", "", "", "Medium", "Active"]
    # Opened in a spreadsheet, a name is text, never a formula.
    assert "'=HYPERLINK(\"http://evil\")" in rows


def test_every_text_cell_is_neutralised_the_owners_email_too(client, org, admin, book):
    sneaky = member(org, Role.CSM, email="=1+2-x@example.com", full_name="Sneaky")
    with scope(organization=org):
        account_create(organization=org, actor=None, name="Sneaky Co", owner=sneaky, currency="EUR")
        task_create(account=book["beta"], actor=None, title="@SUM(A1:A9)")
    client.force_login(admin)
    rows = {row[0]: row for row in _rows(client.get(EXPORT_URL))}
    assert rows["Sneaky Co"][4] == "'=1+2-x@example.com"
    assert rows["Beta GmbH"][10] == "'@SUM(A1:A9)"
    # Tend's own numbers and dates are not text: they stay numbers and dates.
    assert rows["Acme Corp"][5] == "12500.50"


def test_a_nul_in_a_filter_is_a_400_before_the_download_starts(client, admin, book):
    client.force_login(admin)
    for name in ("q", "tier", "stage"):
        response = client.get(f"{EXPORT_URL}?{name}=%00")
        assert response.status_code == 400 and not response.streaming, name
        assert "contains a NUL character" in response.content.decode()


def test_last_contact_is_the_organizations_date(client, org, admin, book):
    org.time_zone = "Pacific/Auckland"  # 10:00 UTC on 15 January is 23:00 there
    org.save()
    client.force_login(admin)
    with scope(organization=org):
        Account.objects.filter(pk=book["acme"].pk).update(last_contacted_at=timezone.make_aware(dt.datetime(2026, 1, 15, 12)))
    rows = {row[0]: row for row in _rows(client.get(EXPORT_URL))}
    assert rows["Acme Corp"][8] == "2026-01-16"


def test_export_follows_the_portfolio_filters(client, org, csm, book):
    client.force_login(csm)
    everyone = sorted(["'=HYPERLINK(\"http://evil\")", "Acme Corp", "Beta GmbH"])
    assert _names(client.get(EXPORT_URL)) == everyone  # active accounts, everyone's
    assert _names(client.get(EXPORT_URL, {"owner": "me"})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"owner": str(csm.pk)})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"owner": "none"})) == sorted(["'=HYPERLINK(\"http://evil\")", "Beta GmbH"])
    assert _names(client.get(EXPORT_URL, {"tier": book["premium"].public_id})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"stage": book["acme"].stage.public_id})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"renewal": "60"})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"priority": "high"})) == ["Acme Corp"]
    assert _names(client.get(EXPORT_URL, {"q": "beta"})) == ["Beta GmbH"]
    assert _names(client.get(EXPORT_URL, {"q": "A-1"})) == ["Acme Corp"]  # an external id
    assert _names(client.get(EXPORT_URL, {"status": "churned"})) == ["Gone Ltd"]
    assert len(_names(client.get(EXPORT_URL, {"status": ""}))) == 4
    assert [row[0] for row in _rows(client.get(EXPORT_URL, {"sort": "arr", "dir": "desc"}))] == [
        "Acme Corp", "Beta GmbH", "'=HYPERLINK(\"http://evil\")"
    ]

def test_export_refuses_a_filter_that_cannot_be_one_before_streaming(client, book, admin):
    client.force_login(admin)
    for bad in ({"renewal": "soon"}, {"owner": "²"}, {"renewal": "²"}, {"sort": "id; drop"}):
        response = client.get(EXPORT_URL, bad)
        assert response.status_code == 400 and not response.streaming, bad
        assert "text/html" in response["Content-Type"]
    html = client.get(EXPORT_URL, {"renewal": "soon", "priority": "meh"}).content.decode()
    assert "Renewal must be a number of days from 0 to 3650" in html and "Priority must be one of low" in html


def _accounts(org, count: int) -> None:
    with scope(organization=org):
        tier = tier_save(organization=org, actor=None, name=f"Tier {count}")
        for number in range(count):
            account = account_create(
                organization=org, actor=None, name=f"Account {count}-{number}", tier=tier,
                external_ids={"csv": f"Q-{count}-{number}", "hubspot": f"H-{count}-{number}"},
            )
            task_create(account=account, actor=None, title="Call", due_date=timezone.localdate())


def test_export_asks_the_same_number_of_queries_for_5_or_50_accounts(
    client, org, admin, django_assert_max_num_queries
):
    client.force_login(admin)
    _accounts(org, 5)
    with CaptureQueriesContext(connection) as few:
        assert len(_rows(client.get(EXPORT_URL))) == 5
    _accounts(org, 45)
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = _rows(client.get(EXPORT_URL))
    assert len(rows) == 50
    assert all(row[1].startswith("csv:Q-") and "; hubspot:H-" in row[1] for row in rows)
    assert all(row[10] == "Call" for row in rows)


def test_filters_from_a_query_string():
    query = QueryDict("owner=7&tier=abc&stage=def&renewal=90&priority=urgent&status=churned&q=+acme+&sort=arr&dir=desc")
    assert portfolio_filters_from_query(query, me_id=3, default_owner="me") == PortfolioFilters(
        owner="7", tier="abc", stage="def", renewal_within_days=90, priority="urgent", status="churned",
        q="acme", sort="arr", descending=True, me_id=3,
    )
    # Absent: the defaults. Present but empty: that filter off.
    assert portfolio_filters_from_query(QueryDict(""), me_id=3, default_owner="me") == PortfolioFilters(owner="me", me_id=3)
    off = portfolio_filters_from_query(QueryDict("owner=&status="), me_id=3, default_owner="me")
    assert (off.owner, off.status) == ("", "")
    # A value that cannot be one is named, never silently ignored; the rest still stand.
    with pytest.raises(InvalidFilters) as refused:
        portfolio_filters_from_query(
            QueryDict("owner=everyone&renewal=-4&priority=meh&status=gone&sort=password&dir=up&q=acme"),
            me_id=3, default_owner="me",
        )
    assert set(refused.value.errors) == {"owner", "renewal", "priority", "status", "sort", "dir"}
    assert refused.value.errors["renewal"].sentence == (
        "Renewal must be a number of days from 0 to 3650, such as 30, 60, 90 or 180."
    )
    kept = refused.value.filters
    assert (kept.owner, kept.renewal_within_days, kept.priority, kept.status, kept.sort, kept.q) == (
        "me", None, "", "active", "name", "acme"
    )
