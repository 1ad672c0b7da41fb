"""The ingestion API as Segment's and Mixpanel's clients use it: what is stored, what is refused."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account, AccountExternalId, Contact
from usage import selectors, services
from usage.models import DirtyDay, UsageUser


@pytest.fixture
def key(org, admin) -> str:
    with scope(organization=org):
        return services.write_key_create(organization=org, actor=admin, label="Web app")[1]


@pytest.fixture
def acme(org) -> Account:
    with scope(organization=org):
        account = Account.objects.create(organization=org, name="Acme Robotics")
        AccountExternalId.objects.create(organization=org, account=account, source="hubspot", external_id="acct-1")
        return account


def basic(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def post(client, path: str, payload, key: str | None = None, **extra):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = basic(key) if key else {}
    return client.post(path, body, content_type="application/json", **headers, **extra)


def stored(org) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, event, user_id, group_id, account_id, message_id, source FROM integrations_usageevent "
            "WHERE organization_id = %s ORDER BY timestamp, id",
            [org.id],
        )
        return cursor.fetchall()


def seen(org) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM integrations_seenmessage WHERE organization_id = %s", [org.id])
        return cursor.fetchone()[0]


def track(user="u1", event="Flow Deployed", message_id="m1", **fields) -> dict:
    return {"type": "track", "userId": user, "event": event, "messageId": message_id, **fields}


def test_identify_group_track_attributes_events_and_makes_the_contact(client, org, key, acme):
    batch = [
        {"type": "identify", "userId": "u1", "messageId": "i1", "traits": {"email": "ada@acme.example", "name": "Ada L"}},
        {"type": "group", "userId": "u1", "groupId": "acct-1", "messageId": "g1", "traits": {"name": "Acme"}},
        track(message_id="t1", timestamp="2026-11-20T10:00:00Z", properties={"flow": "billing"}),
        {"type": "page", "userId": "u1", "name": "Dashboard", "messageId": "p1"},
    ]
    response = post(client, "/v1/batch", {"batch": batch}, key)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    rows = stored(org)
    assert [(r[0], r[1], r[4]) for r in rows] == [
        ("track", "Flow Deployed", acme.id),
        ("identify", "", acme.id),
        ("group", "", acme.id),
        ("page", "Dashboard", acme.id),
    ]
    with scope(organization=org):
        user = UsageUser.objects.get(user_id="u1")
        assert user.account == acme and user.group_id == "acct-1"
        contact = Contact.objects.get(source="product", external_id="u1")
        assert (contact.account, contact.email, contact.name) == (acme, "ada@acme.example", "Ada L")
        assert DirtyDay.objects.filter(day=dt.date(2026, 11, 20)).exists()


def test_write_key_in_the_body_and_gzip_bodies_work(client, org, key, acme):
    body = gzip.compress(json.dumps({"writeKey": key, "batch": [track(context={"groupId": "acct-1"})]}).encode())
    response = client.post("/v1/batch", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200, response.content
    assert stored(org)[0][4] == acme.id  # context.groupId attributes it


def test_single_message_endpoints(client, org, key, acme):
    assert post(client, "/v1/identify", {"userId": "u9", "traits": {"email": "z@acme.example"}}, key).status_code == 200
    assert post(client, "/v1/group", {"userId": "u9", "groupId": "acct-1"}, key).status_code == 200
    assert post(client, "/v1/track", {"userId": "u9", "event": "Signed In"}, key).status_code == 200
    assert post(client, "/v1/page", {"anonymousId": "anon-1", "name": "Pricing"}, key).status_code == 200
    assert [row[0] for row in stored(org)] == ["identify", "group", "track", "page"]
    assert stored(org)[2][4] == acme.id


@pytest.mark.parametrize(
    "headers, message",
    [
        ({}, "No write key"),
        ({"HTTP_AUTHORIZATION": "Bearer abc"}, "HTTP Basic"),
        (basic("tendwk_not-a-real-key"), "not recognised"),
        (basic("sk_live_123"), "not a Tend write key"),
    ],
)
def test_missing_or_wrong_keys_get_401_and_nothing_is_stored(client, org, key, headers, message):
    response = client.post("/v1/batch", json.dumps({"batch": [track()]}), content_type="application/json", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized" and message in response.json()["message"]
    assert stored(org) == []


def test_a_revoked_key_is_refused(client, org, admin, key):
    # Used first, so this process has the key cached: revoking must still bite at once.
    assert post(client, "/v1/batch", {"batch": [track(message_id="before")]}, key).status_code == 200
    with scope(organization=org):
        row = selectors.write_keys().get()
        services.write_key_revoke(key=row, actor=admin)
    response = post(client, "/v1/batch", {"batch": [track()]}, key)
    assert response.status_code == 401 and "revoked" in response.json()["message"]


def test_bad_messages_are_refused_by_index_and_field_and_the_good_ones_stored(client, org, key):
    batch = [
        track(message_id="ok"),
        {"type": "track", "userId": "u1", "messageId": "no-name"},
        {"type": "frobnicate", "userId": "u1"},
        {"type": "track", "event": "X", "messageId": "nobody"},
        track(message_id="bad-time", timestamp="yesterday"),
        {"type": "group", "userId": "u1", "messageId": "no-group"},
        track(message_id="future", timestamp=(timezone.now() + dt.timedelta(days=3)).isoformat()),
        track(message_id="props", properties=["not", "an", "object"]),
    ]
    response = post(client, "/v1/batch", {"batch": batch}, key)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["accepted"], body["refused"]) == ("invalid_messages", 1, 7)
    assert body["message"].startswith("7 messages refused and 1 accepted. First: message 1, event:")
    problems = {(error["index"], error["field"]) for error in body["errors"]}
    assert problems == {
        (1, "event"), (2, "type"), (3, "userId"), (4, "timestamp"), (5, "groupId"), (6, "timestamp"), (7, "properties"),
    }
    assert [row[5] for row in stored(org)] == ["ok"] and seen(org) == 1


@pytest.mark.parametrize(
    "body, code",
    [
        (b"{not json", "invalid_json"),
        (b'{"batch": {}}', "invalid_batch"),
        (b'{"batch": []}', "invalid_batch"),
        (b"[1, 2]", "invalid_json"),
    ],
)
def test_malformed_bodies_get_precise_400s(client, org, key, body, code):
    response = post(client, "/v1/batch", body, key)
    assert response.status_code == 400 and response.json()["code"] == code
    assert stored(org) == []


def test_size_limits(client, org, key):
    big = track(properties={"blob": "x" * 33_000})
    response = post(client, "/v1/batch", {"batch": [track(message_id="small"), big]}, key)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"index": 1, "field": "message", "message": "is 32 KB; a message may be at most 32 KB."}]
    assert [row[5] for row in stored(org)] == ["small"]
    many = [track(message_id=f"m{i}", properties={"blob": "y" * 20_000}) for i in range(30)]
    response = post(client, "/v1/batch", {"batch": many}, key)
    assert response.status_code == 400 and response.json()["code"] == "request_too_large"
    bomb = gzip.compress(json.dumps({"batch": many}).encode())
    response = client.post(
        "/v1/batch", bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip", **basic(key)
    )
    assert response.status_code == 400 and response.json()["code"] == "request_too_large"
    assert [row[5] for row in stored(org)] == ["small"]  # nothing of the requests too large


def test_retries_are_deduplicated_on_message_id(client, org, key):
    assert post(client, "/v1/batch", {"batch": [track(message_id="a"), track(message_id="a")]}, key).status_code == 200
    assert post(client, "/v1/batch", {"batch": [track(message_id="a"), track(message_id="b")]}, key).status_code == 200
    assert sorted(row[5] for row in stored(org)) == ["a", "b"]


def test_rate_limit_answers_429_with_retry_after(client, org, key, settings):
    settings.USAGE_RATE_LIMIT_PER_SECOND = 2
    statuses = [post(client, "/v1/batch", {"batch": [track(message_id=f"r{i}")]}, key) for i in range(6)]
    limited = [response for response in statuses if response.status_code == 429]
    assert limited, [response.status_code for response in statuses]
    assert limited[0]["Retry-After"] == "1" and limited[0].json()["code"] == "rate_limited"


def test_only_post_is_answered(client, key):
    response = client.get("/v1/batch")
    assert response.status_code == 405 and response["Allow"] == "POST"


def test_events_go_to_the_keys_organization_only(client, org, other_org, key):
    post(client, "/v1/batch", {"batch": [track()]}, key)
    assert len(stored(org)) == 1 and stored(other_org) == []


def test_client_clock_is_corrected_by_sent_at(client, org, key):
    now = timezone.now()
    skewed = now + dt.timedelta(hours=5)  # the client's clock is five hours fast
    message = track(originalTimestamp=(skewed - dt.timedelta(minutes=10)).isoformat())
    post(client, "/v1/batch", {"batch": [message], "sentAt": skewed.isoformat()}, key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT timestamp FROM integrations_usageevent WHERE organization_id = %s", [org.id])
        (timestamp,) = cursor.fetchone()
    assert abs((timestamp - (now - dt.timedelta(minutes=10))).total_seconds()) < 60


def test_unmatched_events_are_kept_listed_and_count_once_mapped(client, org, admin, key, acme):
    post(client, "/v1/batch", {"batch": [track(user="u7", message_id="x1"), track(user="u7", message_id="x2")]}, key)
    post(client, "/v1/batch", {"batch": [track(user="u8", message_id="y1", context={"groupId": "new-co"})]}, key)
    assert [row[4] for row in stored(org)] == [None, None, None]
    with scope(organization=org):
        listed = {(row.kind, row.identifier): row.events for row in selectors.unmatched()}
        assert listed == {("user", "u7"): 2, ("group", "new-co"): 1}
        assert services.unmatched_map(organization=org, actor=admin, kind="user", identifier="u7", account=acme) == 2
        assert services.unmatched_map(organization=org, actor=admin, kind="group", identifier="new-co", account=acme) == 1
        assert selectors.unmatched() == []
        assert AccountExternalId.objects.filter(source="product", external_id="new-co", account=acme).exists()
    # New events of that group and user now match by themselves.
    post(client, "/v1/batch", {"batch": [track(user="u7", message_id="x3"), track(user="zz", message_id="y2", context={"groupId": "new-co"})]}, key)
    assert all(row[4] == acme.id for row in stored(org))


def test_a_later_group_call_attributes_the_users_earlier_events(client, org, key, acme):
    post(client, "/v1/batch", {"batch": [track(user="u5", message_id="early")]}, key)
    assert stored(org)[0][4] is None
    post(client, "/v1/group", {"userId": "u5", "groupId": "acct-1", "messageId": "g"}, key)
    assert {row[4] for row in stored(org)} == {acme.id}


def test_rematch_after_accounts_arrive(client, org, admin, key):
    post(client, "/v1/batch", {"batch": [track(user="u3", message_id="z", context={"groupId": "late-co"})]}, key)
    with scope(organization=org):
        late = Account.objects.create(organization=org, name="Late Co")
        AccountExternalId.objects.create(organization=org, account=late, source="stripe", external_id="late-co")
        assert services.unmatched_rematch(organization=org, actor=admin) == 1
    assert stored(org)[0][4] == late.id


# --- Mixpanel ------------------------------------------------------------------------------------------


def mixpanel_record(insert_id: str, **properties) -> dict:
    return {
        "event": "Flow Deployed",
        "properties": {"time": 1_763_900_000, "distinct_id": "mp-user", "$insert_id": insert_id, "group_id": "acct-1", **properties},
    }


def test_mixpanel_import_takes_arrays_and_ndjson_and_dedups_on_insert_id(client, org, key, acme):
    response = post(client, "/import", [mixpanel_record("a"), mixpanel_record("b")], key)
    assert response.status_code == 200 and response.json() == {"code": 200, "num_records_imported": 2, "status": "OK"}
    ndjson = "\n".join(json.dumps(mixpanel_record(i)) for i in ("b", "c")).encode()
    response = client.post("/import", gzip.compress(ndjson), content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="gzip", **basic(key))
    assert response.json()["num_records_imported"] == 1  # "b" was already imported
    rows = stored(org)
    assert len(rows) == 3 and {row[4] for row in rows} == {acme.id} and {row[6] for row in rows} == {"mixpanel"}


def test_mixpanel_import_reports_failed_records_and_stores_the_others(client, org, key):
    bad = mixpanel_record("x")
    del bad["properties"]["$insert_id"]
    response = post(client, "/import", [mixpanel_record("ok"), bad, {"event": "E", "properties": {"distinct_id": "u", "$insert_id": "t"}}], key)
    assert response.status_code == 400
    body = response.json()
    failed = {(record["index"], record["field"]) for record in body["failed_records"]}
    assert failed == {(1, "$insert_id"), (2, "properties.time")}
    assert (body["code"], body["status"], body["num_records_imported"]) == (400, "Bad Request", 1)
    assert [(row[5], row[6]) for row in stored(org)] == [("ok", "mixpanel")]


def test_mixpanel_group_key_names_the_account_property(client, org, key, acme):
    record = mixpanel_record("g", company_id="acct-1")
    del record["properties"]["group_id"]
    assert post(client, "/import?group_key=company_id", [record], key).status_code == 200
    assert stored(org)[0][4] == acme.id


def test_a_product_user_already_known_by_email_is_linked_not_duplicated(client, org, key, acme):
    with scope(organization=org):
        crm = Contact.objects.create(organization=org, account=acme, name="Ada (CRM)", email="Ada@Acme.example", source="hubspot", external_id="h-1")
    batch = [
        {"type": "group", "userId": "u1", "groupId": "acct-1", "messageId": "g"},
        {"type": "identify", "userId": "u1", "messageId": "i", "traits": {"email": "ada@acme.example", "name": "Ada"}},
    ]
    assert post(client, "/v1/batch", {"batch": batch}, key).status_code == 200
    with scope(organization=org):
        assert list(Contact.objects.filter(account=acme)) == [crm]
        crm.refresh_from_db()
        assert crm.name == "Ada (CRM)"  # the CRM's record is its own
        assert UsageUser.objects.get(user_id="u1").contact == crm


def test_identities_of_a_big_batch_cost_a_fixed_number_of_queries(client, org, key, acme, django_assert_max_num_queries):
    def people(start: int) -> list[dict]:
        batch = []
        for n in range(start, start + 50):
            batch.append({"type": "identify", "userId": f"p{n}", "messageId": f"i{n}", "traits": {"email": f"p{n}@acme.example"}})
            batch.append({"type": "group", "userId": f"p{n}", "groupId": "acct-1", "messageId": f"g{n}"})
        return batch

    with CaptureQueriesContext(connection) as few:
        post(client, "/v1/batch", {"batch": people(0)[:4]}, key)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert post(client, "/v1/batch", {"batch": people(100)}, key).status_code == 200
    with scope(organization=org):
        assert Contact.objects.filter(account=acme, source="product").count() == 52


def test_a_message_naming_no_group_is_filed_under_the_persons_group(client, org, key):
    post(client, "/v1/group", {"userId": "u4", "groupId": "unknown-team", "messageId": "g"}, key)
    post(client, "/v1/identify", {"userId": "u4", "traits": {"email": "x@unknown.example"}, "messageId": "i"}, key)
    with scope(organization=org):
        assert [(row.kind, row.identifier, row.events) for row in selectors.unmatched()] == [("group", "unknown-team", 2)]


# --- Bad messages: refused one by one, never a 500, never a silent loss ------------------------------


def test_one_bad_message_in_a_batch_of_100_is_refused_by_index_and_the_other_99_stored(client, org, key):
    batch = [track(message_id=f"good-{i}") for i in range(100)]
    batch[42] = track(message_id="bad", properties={"plan": "pro\x00"})
    response = post(client, "/v1/batch", {"batch": batch}, key)
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["accepted"], body["refused"]) == (99, 1)
    assert body["errors"] == [
        {"index": 42, "field": "properties.plan", "message": "contains a NUL character, which cannot be stored; remove it."}
    ]
    assert len(stored(org)) == 99 and "bad" not in {row[5] for row in stored(org)}
    # The client fixes and resends the whole batch: the 99 are recognised, the one is added.
    batch[42] = track(message_id="bad", properties={"plan": "pro"})
    assert post(client, "/v1/batch", {"batch": batch}, key).status_code == 200
    assert len(stored(org)) == 100


@pytest.mark.parametrize(
    "message, field",
    [
        (track(properties={"a": {"b": ["ok", "x\x00"]}}), "properties.a.b[1]"),
        (track(properties={"a\x00b": 1}), "properties.a\\u0000b"),
        ({"type": "identify", "userId": "u1", "traits": {"name": "Ada\x00"}}, "traits.name"),
        ({"type": "identify", "userId": "u1", "context": {"traits": {"email": "\x00"}}}, "traits.email"),
        ({"type": "page", "userId": "u1", "name": "Pricing\x00"}, "name"),
        (track(event="Deployed\x00"), "event"),
        (track(user="u\x00"), "userId"),
        (track(message_id="m\x00"), "messageId"),
    ],
)
def test_a_nul_anywhere_in_a_message_refuses_that_message_only(client, org, key, message, field):
    response = post(client, "/v1/batch", {"batch": [track(message_id="fine"), message]}, key)
    assert response.status_code == 400
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [(1, field)]
    assert [row[5] for row in stored(org)] == ["fine"]


@pytest.mark.parametrize(
    "fields, sent_at, field",
    [
        ({"originalTimestamp": "2026-01-01T00:00:00Z"}, "9999-12-31T23:59:59Z", "sentAt"),
        ({"originalTimestamp": "2026-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59-23:59"}, None, "sentAt"),
        ({"originalTimestamp": "2026-01-01T00:00:00Z"}, "tomorrow", "sentAt"),
        ({"timestamp": "9999-12-31T23:59:59-23:59"}, None, "timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, None, "timestamp"),
        ({"timestamp": "2030-01-01T00:00:00Z"}, None, "timestamp"),
        ({"originalTimestamp": "9999-12-31T00:00:00Z"}, "2026-01-01T00:00:00Z", "originalTimestamp"),
    ],
)
def test_a_time_far_off_or_unreadable_refuses_the_message_with_a_sentence(client, org, key, fields, sent_at, field):
    payload = {"batch": [track(message_id="now"), track(message_id="off", **fields)]}
    if sent_at is not None:
        payload["sentAt"] = sent_at
    response = post(client, "/v1/batch", payload, key)
    assert response.status_code == 400
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [(1, field)]
    assert [row[5] for row in stored(org)] == ["now"]


def test_a_segment_message_id_cannot_drop_a_mixpanel_record_nor_the_other_way_round(client, org, key):
    assert post(client, "/v1/batch", {"batch": [track(message_id="mixpanel:X"), track(message_id="Y")]}, key).status_code == 200
    response = post(client, "/import", [mixpanel_record("X"), mixpanel_record("Y")], key)
    assert response.json()["num_records_imported"] == 2
    assert sorted((row[6], row[5]) for row in stored(org)) == [
        ("mixpanel", "X"), ("mixpanel", "Y"), ("segment", "Y"), ("segment", "mixpanel:X"),
    ]
    # Retries are still dropped, each within its own source.
    assert post(client, "/import", [mixpanel_record("X")], key).json()["num_records_imported"] == 0
    assert post(client, "/v1/batch", {"batch": [track(message_id="mixpanel:X")]}, key).status_code == 200
    assert len(stored(org)) == 4


def test_a_mixpanel_line_that_is_not_json_is_refused_alone(client, org, key):
    ndjson = b"\n".join([json.dumps(mixpanel_record("a")).encode(), b"{not json", json.dumps(mixpanel_record("b")).encode()])
    response = client.post("/import", ndjson, content_type="application/x-ndjson", **basic(key))
    assert response.status_code == 400
    body = response.json()
    assert body["num_records_imported"] == 2
    assert [(record["index"], record["field"]) for record in body["failed_records"]] == [(1, "record")]
    assert body["failed_records"][0]["message"].startswith("line 2 is not valid JSON")


def test_an_unexpected_error_is_answered_in_json_and_logged_without_the_key(client, org, key, caplog):
    # A real failure of the database (a trigger refusing every insert), not a patched function.
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION pg_temp.refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused: %', NEW.message_id; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON integrations_seenmessage FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse()"
        )
    body = {"writeKey": key, "batch": [track(message_id="secret-looking-message-id")]}
    response = client.post("/v1/batch", json.dumps(body), content_type="application/json")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json()["code"] == "internal_error"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Ingestion request to /v1/batch failed with" in logged
    assert key not in logged and "secret-looking-message-id" not in logged
