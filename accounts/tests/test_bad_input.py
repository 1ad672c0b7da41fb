"""Bad input on the accounts pages: a sentence saying what to fix, never a 5xx."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from django.http import QueryDict
from django_scopes import scope

from accounts.models import Account, Handoff
from accounts.services import account_create
from cs_platform.models import Role
from tests.factories import member

PORTFOLIO = "/o/flowfuse/accounts/"


@pytest.fixture
def acme(org) -> Account:
    with scope(organization=org):
        return account_create(organization=org, actor=None, name="Acme Corp", arr=120_000)


@pytest.mark.parametrize("name", ["q", "tier", "stage"])
def test_a_nul_in_a_portfolio_filter_is_a_400_sentence(client, admin, acme, name):
    client.force_login(admin)
    response = client.get(f"{PORTFOLIO}?{name}=%00")
    assert response.status_code == 400
    assert f"The address&#x27;s “{name}” contains a NUL character, which cannot be stored" in response.content.decode()


@pytest.mark.parametrize(
    "query, sentence",
    [
        ("owner=%C2%B2", "CSM must be one of the people listed, “me” or “none”."),
        ("renewal=%C2%B2", "Renewal must be a number of days from 0 to 3650, such as 30, 60, 90 or 180."),
        ("renewal=99999", "Renewal must be a number of days from 0 to 3650"),
        ("priority=meh", "Priority must be one of low, medium, high or urgent."),
    ],
)
def test_a_filter_that_cannot_be_one_says_so_at_the_filter_and_the_page_still_works(client, admin, acme, query, sentence):
    client.force_login(admin)
    response = client.get(f"{PORTFOLIO}?{query}&q=acme")
    assert response.status_code == 400
    html = response.content.decode()
    assert sentence in html and 'class="filters"' in html and 'aria-invalid="true"' in html
    # No list that looks filtered but is not; a way on without the bad filter, keeping the others.
    assert not response.context["page"].object_list
    name, bad = query.split("=")
    way_on = QueryDict(response.context["query"])
    assert "Show the portfolio without it" in html and way_on["q"] == "acme" and way_on.get(name) != unquote(bad)


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2026-13", "soon"])
def test_the_cohort_report_answers_a_month_it_cannot_show_with_a_400_sentence(client, org, month):
    client.force_login(member(org, Role.MANAGER))
    response = client.get(f"/o/flowfuse/reports/cohorts/?month={month}")
    assert response.status_code == 400
    assert "Month must be a month" in response.content.decode()


@pytest.mark.parametrize("arr", ["1e400", "NaN", "Infinity", "9" * 40, "12.500,00"])
def test_account_edit_refuses_an_arr_it_cannot_store_at_the_field(client, org, admin, acme, arr):
    client.force_login(admin)
    response = client.post(
        f"/o/flowfuse/accounts/{acme.public_id}/edit/", {"name": "Acme Corp", "arr": arr, "currency": "USD", "priority": "medium"}
    )
    assert response.status_code == 422
    assert response.context["form"].errors["arr"]
    with scope(organization=org):
        acme.refresh_from_db()
    assert acme.arr == 120_000


@pytest.mark.parametrize(
    "data, field",
    [
        ({"commit_date": "2026-02-30"}, "commit_date"),
        ({"commit_date": "9999-12-31"}, "commit_date"),
        ({"commit_date": "2026-03-01", "expected_close_date": "0001-01-01"}, "expected_close_date"),
        ({"commit_date": "2026-03-01", "arr": "1e400"}, "arr"),
    ],
)
def test_a_handoff_refuses_a_date_or_arr_it_cannot_use_at_the_field(client, org, data, field):
    client.force_login(member(org, Role.AE))
    response = client.post("/o/flowfuse/handoffs/new/", {"account_name": "Greenfield", **data})
    assert response.status_code == 422
    assert list(response.context["form"].errors) == [field]
    with scope(organization=org):
        assert not Handoff.objects.exists()
