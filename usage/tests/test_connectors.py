"""Product-database connectors, run against a private real PostgreSQL server (the "product", tests/product_db.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from celery.signals import task_prerun
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.tests.factories import account
from cs_platform import secrets
from cs_platform.models import AuditEntry
from usage.connectors import reading, services
from usage.tasks import connectors_due
from usage.models import ConnectorRun, ConnectorSchedule, RunStatus, UsageConnector, UsageDaily, UsageSource
from tests.product_db import D1, D2, D3

INCREMENTAL_QUERY = (
    "SELECT company_id, day, metric, value FROM daily_usage\n"
    "WHERE day >= coalesce(%(since)s::date, '1970-01-01')\n"
    "ORDER BY day, company_id, metric"
)
FULL_QUERY = "SELECT company_id, day, metric, value FROM daily_usage ORDER BY day, company_id, metric;"


# --- Tend's side ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def refreshes() -> Iterator[list[int]]:
    """Organization ids whose account metrics were refreshed (run eagerly from the outbox)."""
    calls: list[int] = []

    def record(sender=None, args=(), **kwargs) -> None:
        if sender.name == "usage.refresh_account_usage":
            calls.append(args[0])

    task_prerun.connect(record, weak=False)
    yield calls
    task_prerun.disconnect(record)


@pytest.fixture
def accounts(org, in_org):
    return {
        "C-1": account(org, "Greenfield Hydroponics", external_ids={"hubspot": "C-1"}),
        "C-2": account(org, "Nordic Dairy", external_ids={"product": "C-2"}),
    }


def make_connector(org, product, *, query=INCREMENTAL_QUERY, dsn=None, **fields) -> UsageConnector:
    values = {"name": "Product DB", "schedule_minutes": ConnectorSchedule.HOURLY, "enabled": True, **fields}
    return services.connector_save(organization=org, actor=None, dsn=dsn or product.dsn, query=query, **values)


def run_now(connector, actor, django_capture_on_commit_callbacks) -> ConnectorRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.connector_run_now(connector=connector, actor=actor)
    run.refresh_from_db()
    connector.refresh_from_db()
    return run


def usage_rows(connector) -> list[tuple]:
    return list(
        UsageDaily.objects.filter(source=UsageSource.CONNECTOR, source_ref=connector.public_id)
        .order_by("account__name", "day", "metric")
        .values_list("account__name", "day", "metric", "value")
    )


# --- Runs -------------------------------------------------------------------------------


def test_run_imports_matched_rows_and_counts_unmatched_ids(org, admin, accounts, product, refreshes, django_capture_on_commit_callbacks):
    connector = make_connector(org, product)
    before = timezone.now()
    run = run_now(connector, admin, django_capture_on_commit_callbacks)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.rows_read, run.rows_upserted, run.rows_unmatched) == (15, 9, 6)
    assert run.unmatched_sample == ["C-404", "C-405"]
    assert run.triggered_by == admin and run.since is None and run.started_at and run.finished_at
    rows = usage_rows(connector)
    assert len(rows) == 9
    assert ("Greenfield Hydroponics", D2, "logins", 21.0) in rows
    assert ("Nordic Dairy", D3, "active_users", 3.0) in rows
    assert connector.since == D3
    assert before + dt.timedelta(minutes=59) < connector.next_run_at <= timezone.now() + dt.timedelta(minutes=60)
    assert refreshes == [org.id]


def test_a_run_refreshes_the_accounts_usage_metrics(org, admin, accounts, product, django_capture_on_commit_callbacks):
    from usage.models import AccountUsage

    today = timezone.now().date()
    product.execute("INSERT INTO daily_usage VALUES ('C-1', %s, 'logins', 5)", [today])
    run = run_now(make_connector(org, product), admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert AccountUsage.objects.filter(account=accounts["C-1"]).exists()


def test_test_connection_flags_a_result_of_the_wrong_shape_and_shows_none_of_it(product):
    result = services.connector_test(product.dsn, "SELECT company_id, day, metric FROM daily_usage")
    assert result.ok and result.columns == ["company_id", "day", "metric"]
    assert result.problems == [
        "The query returns 3 columns (company_id, day, metric); it must return exactly 4: "
        "account_external_id, day, metric, value."
    ]
    assert result.rows == []

    wide = services.connector_test(product.dsn, "SELECT *, current_user AS who FROM daily_usage")
    assert wide.problems[0].startswith("The query returns 5 columns") and wide.rows == []


def test_rerunning_gives_the_same_rows_and_counts(org, admin, accounts, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product, query=FULL_QUERY)
    first = run_now(connector, admin, django_capture_on_commit_callbacks)
    rows = usage_rows(connector)
    product.execute("UPDATE daily_usage SET value = 8 WHERE company_id = 'C-1' AND day = %s AND metric = 'active_users'", [D3])
    second = run_now(connector, admin, django_capture_on_commit_callbacks)

    assert (second.rows_read, second.rows_upserted, second.rows_unmatched) == (first.rows_read, first.rows_upserted, first.rows_unmatched)
    changed = usage_rows(connector)
    assert len(changed) == len(rows) == 9
    assert ("Greenfield Hydroponics", D3, "active_users", 8.0) in changed


def test_second_run_reads_from_the_last_day_imported(org, admin, accounts, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product)
    run_now(connector, admin, django_capture_on_commit_callbacks)
    product.execute("INSERT INTO daily_usage VALUES ('C-1', %s, 'logins', 4)", [D3 + dt.timedelta(days=1)])

    second = run_now(connector, admin, django_capture_on_commit_callbacks)

    assert second.since == D3
    assert (second.rows_read, second.rows_upserted, second.rows_unmatched) == (6, 4, 2)  # day 3 again, and day 4
    assert connector.since == D3 + dt.timedelta(days=1)
    assert len(usage_rows(connector)) == 10


def test_a_bad_row_fails_the_run_naming_it_and_writes_nothing(org, admin, accounts, product, monkeypatch, refreshes, django_capture_on_commit_callbacks):
    # Small chunks, so rows before the bad one have been upserted when it is met: they must go too.
    monkeypatch.setattr(reading, "FETCH_ROWS", 2)
    query = (
        "SELECT company_id, CASE WHEN company_id = 'C-2' AND day = '2026-03-02' THEN '2026-02-30' ELSE day::text END,"
        " metric, value FROM daily_usage ORDER BY daily_usage.day, company_id, metric"
    )
    connector = make_connector(org, product, query=query)
    run = run_now(connector, admin, django_capture_on_commit_callbacks)

    assert run.status == RunStatus.FAILED
    assert run.error == "Row 8, column day: “2026-02-30” is not a date: return a date, or text such as 2026-03-31."
    assert run.rows_upserted == 0
    assert usage_rows(connector) == []
    assert connector.since is None
    assert connector.next_run_at > timezone.now() + dt.timedelta(minutes=59)  # moves on all the same
    assert refreshes == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("C-1", D1, "logins"), "Row 1 has 3 columns; the query must return exactly 4"),
        ((None, D1, "logins", 1), "Row 1, column account_external_id: None is not text"),
        (("C-1", D1, "", 1), "Row 1, column metric: “” is not a metric name"),
        (("C-1", D1, "m" * 201, 1), "Row 1, column metric: “mmm"),
        (("C-1", D1, "logins", "12"), "Row 1, column value: “12” is not a number"),
        (("C-1", 20260301, "logins", 1), "Row 1, column day: 20260301 is not a date"),
    ],
)
def test_row_checks_name_the_column_and_value(row, message):
    with pytest.raises(reading.ConnectorError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        reading.check_row(1, row)


def test_row_checks_accept_dates_as_text_and_numbers_of_any_kind():
    assert reading.check_row(1, (42, "2026-03-01", " logins ", 3)) == ("42", D1, "logins", 3.0)
    assert reading.check_row(1, ("C-1", dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC), "x", 1.5))[1] == D1


def test_a_writing_query_fails_read_only_and_leaves_the_product_database_unchanged(org, admin, accounts, product, django_capture_on_commit_callbacks):
    before = product.rows()
    deleting = make_connector(
        org, product, name="Deleting", query="WITH gone AS (DELETE FROM daily_usage RETURNING *) SELECT company_id, day, metric, value FROM gone"
    )
    run = run_now(deleting, admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("The query tried to change the product database")

    # A function that writes, called from a SELECT: refused by the read-only transaction.
    product.execute(
        "CREATE FUNCTION sneaky() RETURNS numeric LANGUAGE sql AS "
        "$$ INSERT INTO daily_usage VALUES ('C-1', '2026-03-09', 'x', 1) RETURNING 1::numeric $$"
    )
    calling = make_connector(org, product, name="Calling", query="SELECT company_id, day, metric, sneaky() FROM daily_usage")
    run = run_now(calling, admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert "read-only transaction" in run.error and run.error.startswith("The query tried to change")
    assert product.rows() == before
    assert UsageDaily.objects.count() == 0


def test_a_write_statement_is_refused_when_saving(org, in_org, product):
    with pytest.raises(ValidationError) as error:
        make_connector(org, product, query="INSERT INTO daily_usage VALUES ('C-1', '2026-03-09', 'x', 1)")
    assert error.value.message_dict["query"] == [
        "The query must start with SELECT or WITH (it starts with “INSERT”): connectors only read."
    ]
    with pytest.raises(ValidationError) as error:
        make_connector(org, product, query="SELECT 1; DROP TABLE daily_usage")
    assert error.value.message_dict["query"][0].startswith("Enter a single statement: this one has 2")
    # A ";" inside a string or a trailing one is not a second statement.
    assert make_connector(org, product, query="SELECT 'a;b', current_date, 'm', 1; -- done").pk


def test_a_query_over_the_time_limit_is_cancelled(org, admin, accounts, product, settings, django_capture_on_commit_callbacks):
    settings.CONNECTOR_STATEMENT_TIMEOUT_MS = 200
    connector = make_connector(org, product, query="SELECT 'C-1', current_date, 'logins', 1 FROM pg_sleep(2)")
    run = run_now(connector, admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("The query ran longer than the 0.2 seconds allowed and was cancelled.")


def test_a_bad_query_fails_with_the_database_message(org, admin, accounts, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product, query="SELECT company_id, day, metric, value FROM no_such_table")
    run = run_now(connector, admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert run.error == 'The query failed: relation "no_such_table" does not exist.'


def test_an_unreachable_database_fails_clearly_without_showing_the_password(org, admin, in_org, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product, dsn="postgresql://reader:s3cret-pw@127.0.0.1:1/product")
    run = run_now(connector, admin, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "Could not connect to the product database at 127.0.0.1:1; check the address, that it accepts "
        "connections from Tend, and the credentials."
    )
    assert connector.next_run_at > timezone.now() + dt.timedelta(minutes=59)

    result = services.connector_test("postgresql://reader:s3cret-pw@127.0.0.1:1/product", FULL_QUERY)
    assert result.error == run.error


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("mysql://user:pw@db/product", "“mysql://” is not a PostgreSQL connection string"),
        ("host=db port=notaport dbname", "This is not a valid PostgreSQL connection string"),
        ("", "Enter the product database's connection string."),
    ],
)
def test_a_bad_connection_string_is_refused_precisely(org, in_org, product, dsn, message):
    with pytest.raises(ValidationError) as error:
        services.connector_save(
            organization=org, actor=None, name="X", dsn=dsn, query=FULL_QUERY, schedule_minutes=60, enabled=True
        )
    assert error.value.message_dict["dsn"][0].startswith(message)


def test_the_connection_string_is_stored_encrypted_and_shown_masked(org, admin, in_org, product):
    dsn = "postgresql://reader:s3cret-pw@db.example.com:5432/product?sslmode=require"
    connector = make_connector(org, product, dsn=dsn)
    with connection.cursor() as cursor:
        cursor.execute("SELECT dsn_encrypted, dsn_hint FROM integrations_usageconnector WHERE id = %s", [connector.id])
        stored, hint = cursor.fetchone()
    assert "s3cret-pw" not in stored and "reader" not in stored
    assert secrets.decrypt(stored) == dsn
    assert "s3cret-pw" not in hint and "host=db.example.com" in hint and "password=********" in hint
    entry = AuditEntry.objects.get(action="usage_connector.created")
    assert "s3cret-pw" not in str(entry.changes)

    # Saved again without a connection string: the stored one stays.
    services.connector_save(
        organization=org, actor=admin, connector=connector, name="Renamed", dsn="", query=FULL_QUERY,
        schedule_minutes=ConnectorSchedule.DAILY, enabled=True,
    )
    connector.refresh_from_db()
    assert secrets.decrypt(connector.dsn_encrypted) == dsn and connector.name == "Renamed"
    assert AuditEntry.objects.get(action="usage_connector.updated").changes["name"] == ["Product DB", "Renamed"]


def test_secrets_rotate_with_several_keys_and_fail_clearly_with_the_wrong_one(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TEND_SECRETS_KEY = old
    token = secrets.encrypt("postgresql://u:pw@h/db")
    settings.TEND_SECRETS_KEY = f"{new},{old}"
    assert secrets.decrypt(token) == "postgresql://u:pw@h/db"
    rotated = secrets.rotate(token)
    settings.TEND_SECRETS_KEY = new
    assert secrets.decrypt(rotated) == "postgresql://u:pw@h/db"
    with pytest.raises(secrets.SecretError, match="Enter the secret again"):
        secrets.decrypt(token)
    settings.TEND_SECRETS_KEY = ""
    assert secrets.decrypt(secrets.encrypt("x")) == "x"  # derived from SECRET_KEY


def test_connectors_due_queues_only_enabled_connectors_whose_time_has_come(org, other_org, product):
    now = timezone.now()
    with scope(organization=org):
        due = make_connector(org, product, name="Due")
        later = make_connector(org, product, name="Later")
        paused = make_connector(org, product, name="Paused", enabled=False)
    with scope(organization=other_org):
        elsewhere = make_connector(other_org, product, name="Elsewhere")
    with scopes_disabled():
        UsageConnector.objects.filter(pk=later.pk).update(next_run_at=now + dt.timedelta(minutes=5))
        UsageConnector.objects.filter(pk__in=[due.pk, paused.pk, elsewhere.pk]).update(next_run_at=now - dt.timedelta(minutes=1))

        assert connectors_due() == 2
        queued = set(ConnectorRun.objects.values_list("connector__name", "status"))
        assert queued == {("Due", RunStatus.QUEUED), ("Elsewhere", RunStatus.QUEUED)}
        assert UsageConnector.objects.get(pk=due.pk).next_run_at > now + dt.timedelta(minutes=59)
        assert connectors_due() == 0  # already moved on: a second beat queues nothing


def test_run_now_refuses_while_a_run_is_queued(org, admin, in_org, product):
    connector = make_connector(org, product)
    services.connector_run_now(connector=connector, actor=admin)  # left queued: nothing commits in this test
    with pytest.raises(ValidationError, match="already queued"):
        services.connector_run_now(connector=connector, actor=admin)


def test_connector_test_returns_columns_and_five_rows(product):
    result = services.connector_test(product.dsn, INCREMENTAL_QUERY)
    assert result.ok and not result.problems
    assert result.columns == ["company_id", "day", "metric", "value"]
    assert len(result.rows) == 5

    many = services.connector_test(product.dsn, "SELECT 'C-1', current_date, 'm', n FROM generate_series(1, 100000) AS n")
    assert many.ok and [row[3] for row in many.rows] == [1, 2, 3, 4, 5]


def test_deleting_a_connector_removes_the_rows_it_imported(org, admin, accounts, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product)
    run_now(connector, admin, django_capture_on_commit_callbacks)
    assert services.connector_delete(connector=connector, actor=admin) == 9
    assert UsageDaily.objects.count() == 0 and not ConnectorRun.objects.exists()


# --- Pages ------------------------------------------------------------------------------


def url(name: str, org_slug: str = "flowfuse", **kwargs) -> str:
    return reverse(name, kwargs={"org_slug": org_slug, **kwargs})


def form_data(product, **overrides) -> dict:
    return {"name": "Product DB", "dsn": product.dsn, "query": INCREMENTAL_QUERY, "schedule_minutes": "1440", "enabled": "on", **overrides}


def test_admin_creates_a_connector_and_sees_it_listed(as_admin, org, product, django_assert_max_num_queries):
    page = as_admin.get(url("usage:connector_create"))
    assert page.status_code == 200 and b"account_external_id" in page.content

    response = as_admin.post(url("usage:connector_create"), form_data(product))
    with scope(organization=org):
        connector = UsageConnector.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("usage:connector_detail", connector=connector.public_id)
    assert connector.schedule_minutes == ConnectorSchedule.DAILY and connector.created_by.email == "admin@flowfuse.example"

    with django_assert_max_num_queries(12):
        listing = as_admin.get(url("usage:connectors"))
    assert listing.status_code == 200 and b"Product DB" in listing.content


def test_form_errors_say_what_is_wrong(as_admin, org, product):
    response = as_admin.post(
        url("usage:connector_create"),
        form_data(product, name="", dsn="mysql://u:topsecret@db/x", query="DELETE FROM daily_usage"),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    response = as_admin.post(url("usage:connector_create"), form_data(product, dsn="mysql://u:topsecret@db/x", query="DELETE FROM daily_usage"))
    errors = response.context["form"].errors
    assert errors["dsn"] == ["“mysql://” is not a PostgreSQL connection string: it must start with postgresql://."]
    assert errors["query"] == ["The query must start with SELECT or WITH (it starts with “DELETE”): connectors only read."]
    assert b"topsecret" not in response.content
    with scope(organization=org):
        assert not UsageConnector.objects.exists()


def test_test_connection_shows_sample_rows_or_the_error(as_admin, org, product):
    partial = as_admin.post(url("usage:connector_create"), form_data(product, action="test"), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert b"<html" not in partial.content and b"Connected" in partial.content and b"C-404" in partial.content

    failing = as_admin.post(
        url("usage:connector_create"), form_data(product, action="test", dsn="postgresql://u:topsecret@127.0.0.1:1/x"),
        HTTP_HX_REQUEST="true",
    )
    assert b"Could not connect" in failing.content and b"topsecret" not in failing.content

    # Without JavaScript the button posts the form: the whole page comes back, with the result.
    fallback = as_admin.post(url("usage:connector_create"), form_data(product, action="test"))
    assert b"<html" in fallback.content and b"Connected" in fallback.content
    with scope(organization=org):
        assert not UsageConnector.objects.exists()


def test_edit_never_shows_the_password_and_keeps_it_when_left_empty(as_admin, org, product):
    dsn = "postgresql://reader:s3cret-pw@db.example.com/product"
    with scope(organization=org):
        connector = make_connector(org, product, dsn=dsn)
    for page in (url("usage:connector_edit", connector=connector.public_id), url("usage:connector_detail", connector=connector.public_id)):
        response = as_admin.get(page)
        assert response.status_code == 200 and b"s3cret-pw" not in response.content and b"db.example.com" in response.content

    response = as_admin.post(url("usage:connector_edit", connector=connector.public_id), form_data(product, dsn="", name="Renamed"))
    assert response.status_code == 302
    with scope(organization=org):
        connector.refresh_from_db()
    assert connector.name == "Renamed" and secrets.decrypt(connector.dsn_encrypted) == dsn


def test_run_now_button_runs_and_the_detail_page_shows_the_outcome(as_admin, org, accounts, product, django_capture_on_commit_callbacks):
    connector = make_connector(org, product)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(url("usage:connector_run", connector=connector.public_id))
    assert response.status_code == 302
    detail = as_admin.get(url("usage:connector_detail", connector=connector.public_id))
    content = detail.content.decode()
    assert 'data-status="succeeded"' in content
    assert "C-404" in content and "C-405" in content


def test_a_csm_may_not_manage_connectors(client, csm, org, product):
    with scope(organization=org):
        connector = make_connector(org, product)
    client.force_login(csm)
    assert client.get(url("usage:connectors")).status_code == 403
    assert client.get(url("usage:connector_create")).status_code == 403
    assert client.post(url("usage:connector_run", connector=connector.public_id)).status_code == 403


def test_another_organization_sees_nothing_of_a_connector(client, stranger, org, other_org, product):
    with scope(organization=org):
        connector = make_connector(org, product)
    client.force_login(stranger)
    for name in ("usage:connector_detail", "usage:connector_edit"):
        assert client.get(url(name, connector=connector.public_id)).status_code == 404
        assert client.get(url(name, "elsewhere", connector=connector.public_id)).status_code == 404
    for name in ("usage:connector_run", "usage:connector_delete"):
        assert client.post(url(name, "elsewhere", connector=connector.public_id)).status_code == 404
    with scope(organization=org):
        assert UsageConnector.objects.filter(pk=connector.pk).exists() and not ConnectorRun.objects.exists()
