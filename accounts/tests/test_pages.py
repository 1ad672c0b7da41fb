"""The CSM's working pages: portfolio, Account 360, tasks; the AE's handoff; admin settings."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services
from accounts.models import Account, Activity, Handoff, LifecycleStage, Task, TaskSource, Tier, TierChange
from accounts.tests.factories import account, stage, tier
from cs_platform.models import Role
from tests.factories import member


@pytest.fixture
def book(org, csm, in_org):
    """A small book: two tiers, accounts for our CSM and for a colleague."""
    colleague = member(org, Role.CSM, email="tom@flowfuse.example", full_name="Tom Becker")
    starter, premium = tier(org, "Starter"), tier(org, "Premium")
    return {
        "greenfield": account(org, "Greenfield Hydroponics", owner=csm, tier=premium, arr=4_500_000, renews_in_days=30, stage=stage("Adoption")),
        "nordic": account(org, "Nordic Dairy Cooperative", owner=csm, tier=starter, arr=300_000, renews_in_days=200),
        "orchard": account(org, "Orchard Robotics", owner=colleague, tier=premium, arr=2_000_000, renews_in_days=45, priority="high"),
        "starter": starter, "premium": premium, "colleague": colleague,
    }


def _names(response) -> list[str]:
    return [a.name for a in response.context["page"].object_list]


def test_portfolio_shows_a_csm_their_own_accounts_by_default(client, book, csm):
    client.force_login(csm)
    response = client.get("/o/flowfuse/accounts/")
    assert _names(response) == ["Greenfield Hydroponics", "Nordic Dairy Cooperative"]
    assert response.context["filters"].owner == "me"
    everyone = client.get("/o/flowfuse/accounts/?owner=")
    assert _names(everyone) == ["Greenfield Hydroponics", "Nordic Dairy Cooperative", "Orchard Robotics"]


def test_portfolio_filters_by_tier_renewal_window_priority_and_search(client, book, admin):
    client.force_login(admin)
    premium = book["premium"].public_id
    assert _names(client.get(f"/o/flowfuse/accounts/?tier={premium}")) == ["Greenfield Hydroponics", "Orchard Robotics"]
    assert _names(client.get("/o/flowfuse/accounts/?renewal=60")) == ["Greenfield Hydroponics", "Orchard Robotics"]
    assert _names(client.get("/o/flowfuse/accounts/?priority=high")) == ["Orchard Robotics"]
    assert _names(client.get("/o/flowfuse/accounts/?q=dairy")) == ["Nordic Dairy Cooperative"]


def test_portfolio_sorts_by_any_column_both_ways(client, book, admin):
    client.force_login(admin)
    assert _names(client.get("/o/flowfuse/accounts/?sort=arr&dir=desc")) == [
        "Greenfield Hydroponics", "Orchard Robotics", "Nordic Dairy Cooperative",
    ]
    assert _names(client.get("/o/flowfuse/accounts/?sort=renewal")) == [
        "Greenfield Hydroponics", "Orchard Robotics", "Nordic Dairy Cooperative",
    ]
    html = client.get("/o/flowfuse/accounts/?sort=arr&dir=desc").content.decode()
    assert "sort=arr&amp;dir=asc" in html  # clicking the sorted column again flips it


def test_portfolio_next_action_is_the_earliest_open_task(client, book, csm, org):
    today = timezone.localdate()
    services.task_create(account=book["greenfield"], actor=csm, title="Later", due_date=today + dt.timedelta(days=9))
    services.task_create(account=book["greenfield"], actor=csm, title="Soonest", due_date=today + dt.timedelta(days=1))
    client.force_login(csm)
    row = client.get("/o/flowfuse/accounts/").context["page"].object_list[0]
    assert row.next_action_title == "Soonest"


def test_portfolio_htmx_request_gets_only_the_results(client, book, csm):
    client.force_login(csm)
    html = client.get("/o/flowfuse/accounts/?q=green", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="portfolio-results">') and "Greenfield" in html


def test_portfolio_queries_do_not_grow_with_the_page_size(client, org, csm, in_org, django_assert_num_queries):
    premium = tier(org, "Premium")
    for n in range(3):
        a = account(org, f"Small {n}", owner=csm, tier=premium, renews_in_days=10)
        services.task_create(account=a, actor=None, title="Call")
    client.force_login(csm)
    client.get("/o/flowfuse/accounts/")  # warm-up: sessions, caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/o/flowfuse/accounts/")
    for n in range(3, 45):
        a = account(org, f"Small {n:02}", owner=csm, tier=premium, renews_in_days=10)
        services.task_create(account=a, actor=None, title="Call")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get("/o/flowfuse/accounts/")
    assert len(response.context["page"].object_list) == 45


def test_account_360_shows_the_summary_card_and_empty_states(client, book, csm):
    client.force_login(csm)
    html = client.get(f"/o/flowfuse/accounts/{book['greenfield'].public_id}/").content.decode()
    for label in ["Customer", "Tier", "Health score", "Stage", "Last contact", "Next action", "Priority", "Notes"]:
        assert label in html
    assert "Not scored yet" in html and "Appears once Stripe is connected" in html


def test_csm_logs_a_call_inline_and_last_contact_moves(client, book, csm, org):
    client.force_login(csm)
    greenfield = book["greenfield"]
    response = client.post(
        f"/o/flowfuse/accounts/{greenfield.public_id}/activities/",
        {"kind": "call", "subject": "Check-in call", "body": "Rollout to second greenhouse."},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="activity-form"' in html and 'hx-swap-oob="afterbegin:#timeline-list"' in html and "Check-in call" in html
    greenfield.refresh_from_db()
    assert greenfield.last_contacted_at is not None
    assert Activity.objects.get(account=greenfield, kind="call").author == csm


def test_an_empty_note_is_refused_with_a_reason(client, book, csm):
    client.force_login(csm)
    response = client.post(f"/o/flowfuse/accounts/{book['greenfield'].public_id}/activities/", {"kind": "note"}, follow=True)
    assert "Write what happened" in response.content.decode()
    assert not Activity.objects.filter(account=book["greenfield"], kind="note").exists()


def test_tier_change_is_recorded_with_reason_and_shown_in_history(client, book, csm):
    client.force_login(csm)
    greenfield = book["greenfield"]
    client.post(f"/o/flowfuse/accounts/{greenfield.public_id}/tier/", {"tier": book["starter"].pk, "reason": "Downsized"})
    change = TierChange.objects.filter(account=greenfield).first()
    assert (change.from_tier, change.to_tier, change.reason) == (book["premium"], book["starter"], "Downsized")
    html = client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").content.decode()
    assert "Premium → Starter" in html and "Downsized" in html


def test_viewers_read_but_cannot_change_accounts(client, book, viewer):
    client.force_login(viewer)
    greenfield = book["greenfield"]
    assert client.get(f"/o/flowfuse/accounts/{greenfield.public_id}/").status_code == 200
    assert client.post(f"/o/flowfuse/accounts/{greenfield.public_id}/activities/", {"kind": "note", "body": "x"}).status_code == 403
    assert client.post(f"/o/flowfuse/accounts/{greenfield.public_id}/tier/", {"tier": ""}).status_code == 403


def test_my_tasks_groups_by_due_date_and_completes_inline(client, book, csm):
    today = timezone.localdate()
    overdue = services.task_create(account=book["greenfield"], actor=None, title="Send recap", due_date=today - dt.timedelta(days=2))
    services.task_create(account=book["nordic"], actor=None, title="Renewal prep", due_date=today)
    services.task_create(account=book["nordic"], actor=None, title="QBR deck", due_date=today + dt.timedelta(days=5))
    client.force_login(csm)
    buckets = client.get("/o/flowfuse/tasks/").context["buckets"]
    assert [t.title for t in buckets.overdue] == ["Send recap"]
    assert [t.title for t in buckets.today] == ["Renewal prep"]
    assert [t.title for t in buckets.upcoming] == ["QBR deck"]
    response = client.post(f"/o/flowfuse/tasks/{overdue.public_id}/complete/", HTTP_HX_REQUEST="true")
    assert "Done:" in response.content.decode()
    overdue.refresh_from_db()
    assert overdue.status == "done" and overdue.completed_at is not None


def test_ae_handoff_creates_the_onboarding_account_with_csm_kickoff_task_and_email(
    client, org, book, csm, django_capture_on_commit_callbacks
):
    ae = member(org, Role.AE, email="ae@flowfuse.example", full_name="Grace Kim")
    services.tier_save(organization=org, actor=None, tier=book["premium"], csms=[csm])
    client.force_login(ae)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/o/flowfuse/handoffs/new/",
            {
                "account_name": "Sunrise Vertical Farms", "domain": "sunrise-farms.example", "tier": book["premium"].pk,
                "arr": "48,000", "commit_date": "2026-11-20", "customer_goals": "Automate irrigation in 3 sites",
                "success_criteria": "Water use down 15% by Q2", "champion_name": "Ana Silva",
                "champion_email": "ana@sunrise-farms.example",
            },
            follow=True,
        )
    assert "Sunrise Vertical Farms handed off to Sofia Marin" in response.content.decode()
    new = Account.objects.get(name="Sunrise Vertical Farms")
    assert (new.owner, new.ae, new.stage.name, new.arr, new.tier) == (csm, ae, "Onboarding", 4_800_000, book["premium"])
    kickoff = Task.objects.get(account=new)
    assert kickoff.owner == csm and kickoff.source == TaskSource.HANDOFF
    assert Handoff.objects.get(account=new).completeness_percent == 100
    assert Activity.objects.filter(account=new, event="handoff.logged").exists()
    assert mail.outbox[-1].to == [csm.email] and "Sunrise Vertical Farms" in mail.outbox[-1].subject


def test_handoff_round_robins_among_the_tiers_csms(org, book, csm, in_org):
    colleague = book["colleague"]
    services.tier_save(organization=org, actor=None, tier=book["premium"], csms=[csm, colleague])
    ae = member(org, Role.AE)
    owners = [
        services.handoff_log(organization=org, ae=ae, account_name=f"Deal {n}", tier=book["premium"]).csm for n in range(4)
    ]
    assert owners[0] != owners[1] and owners[0] == owners[2] and owners[1] == owners[3]


def test_handoff_form_explains_what_is_missing(client, org, book):
    ae = member(org, Role.AE)
    client.force_login(ae)
    response = client.post("/o/flowfuse/handoffs/new/", {"commit_date": "2026-11-20", "arr": "lots"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Name the new account" in html and "must be written in major units, such as 12500" in html


def test_managers_see_handoff_quality(client, org, book, in_org):
    ae = member(org, Role.AE)
    services.handoff_log(organization=org, ae=ae, account_name="Full", customer_goals="g", success_criteria="s", champion={"name": "C"})
    services.handoff_log(organization=org, ae=ae, account_name="Thin")
    client.force_login(member(org, Role.MANAGER))
    response = client.get("/o/flowfuse/handoffs/")
    assert response.context["quality"] == 50  # (100 + 0) / 2
    assert client.get("/o/flowfuse/handoffs/new/").status_code == 200


def test_csms_cannot_log_handoffs(client, csm, book):
    client.force_login(csm)
    assert client.get("/o/flowfuse/handoffs/new/").status_code == 403


def test_a_departing_champion_is_flagged(client, book, csm):
    champion = services.contact_save(account=book["greenfield"], actor=None, name="Ana", role="champion")
    client.force_login(csm)
    client.post(f"/o/flowfuse/accounts/{book['greenfield'].public_id}/contacts/{champion.public_id}/left/")
    assert Activity.objects.filter(account=book["greenfield"], event="contact.champion_left").exists()
    assert Task.objects.filter(account=book["greenfield"], title="Find a new champion", owner=csm).exists()


def test_admin_configures_tiers_with_coverage(client, org, admin, csm, in_org):
    client.force_login(admin)
    response = client.post(
        "/o/flowfuse/settings/tiers/new/",
        {"name": "Enterprise", "position": 4, "touch": "dedicated", "check_in_cadence_days": 14,
         "qbr_arr_threshold": "10,000", "csms": [csm.pk]},
        follow=True,
    )
    assert "Tier Enterprise saved" in response.content.decode()
    enterprise = Tier.objects.get(name="Enterprise")
    assert enterprise.qbr_arr_threshold == 1_000_000 and list(enterprise.csms.all()) == [csm]
    assert client.get("/o/flowfuse/settings/accounts/").status_code == 200
    client.force_login(csm)
    assert client.get("/o/flowfuse/settings/accounts/").status_code == 403


def test_new_organizations_get_the_default_lifecycle_stages(org, in_org):
    from accounts.models import LifecycleStage

    assert list(LifecycleStage.objects.values_list("name", flat=True)) == [
        "Onboarding", "Adoption", "Retention", "Expansion", "At-Risk", "Churned",
    ]


def test_account_summary_prints_seed_002s_format(book, org):
    services.task_create(account=book["greenfield"], actor=None, title="Expansion call", due_date=dt.date(2026, 12, 1))
    out = StringIO()
    call_command("account_summary", "--org", "flowfuse", "Greenfield Hydroponics", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "CUSTOMER", "TIER", "HEALTH_SCORE", "STAGE", "LAST_CONTACT", "NEXT_ACTION", "PRIORITY", "NOTES",
    ]
    assert lines[0] == "CUSTOMER: Greenfield Hydroponics" and lines[1] == "TIER: Premium"
    assert lines[5] == "NEXT_ACTION: Expansion call (due 2026-12-01)"
    with pytest.raises(CommandError, match="No account"):
        call_command("account_summary", "--org", "flowfuse", "Nobody Ltd")


def test_parent_accounts_roll_up_arr(client, org, book, admin):
    services.account_update(account=book["nordic"], actor=None, parent=book["greenfield"])
    client.force_login(admin)
    response = client.get(f"/o/flowfuse/accounts/{book['greenfield'].public_id}/")
    assert response.context["rolled_up_arr"] == 48_000
    with pytest.raises(Exception, match="cannot sit under itself"):
        services.account_update(account=book["greenfield"], actor=None, parent=book["nordic"])



def test_managers_see_this_months_cohort_migration(client, org, book, in_org):
    trial = tier(org, "Trial", position=0)
    services.tier_save(organization=org, actor=None, tier=book["starter"], position=1)
    services.tier_save(organization=org, actor=None, tier=book["premium"], position=2)
    for n in range(3):
        services.account_change_tier(account=account(org, f"T{n}", tier=trial), actor=None, tier=book["starter"], reason="Converted")
    services.account_change_tier(account=book["greenfield"], actor=None, tier=book["starter"], reason="Downsized")
    client.force_login(member(org, Role.MANAGER))
    response = client.get("/o/flowfuse/reports/cohorts/")
    moves = {(m.from_tier, m.to_tier): (m.moves, m.direction) for m in response.context["moves"]}
    assert moves[("Trial", "Starter")] == (3, "up")
    assert moves[("Premium", "Starter")] == (1, "down")
    assert response.context["upgrades"] == 3
    last_month = client.get("/o/flowfuse/reports/cohorts/?month=2020-01")
    assert last_month.context["moves"] == [] and "No tier changes this month" in last_month.content.decode()


def test_csms_do_not_see_reports(client, csm, book):
    client.force_login(csm)
    assert client.get("/o/flowfuse/reports/cohorts/").status_code == 403


def test_account_edit_saves_and_explains_bad_input(client, book, csm, admin):
    client.force_login(csm)
    url = f"/o/flowfuse/accounts/{book['nordic'].public_id}/edit/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"name": "Nordic Dairy", "arr": "12k", "currency": "EURO", "priority": "medium"})
    assert bad.status_code == 422
    assert "must be written in major units, such as 12500" in bad.content.decode() and "three-letter code" in bad.content.decode()
    good = client.post(
        url,
        {"name": "Nordic Dairy Co-op", "domains": "nordicdairy.example, nd.example", "arr": "3,500.50", "currency": "eur",
         "priority": "high", "owner": admin.pk, "renewal_date": "2027-03-01", "notes": "Pilot in Aarhus"},
        follow=True,
    )
    assert "Nordic Dairy Co-op saved" in good.content.decode()
    nordic = Account.objects.get(pk=book["nordic"].pk)
    assert (nordic.arr, nordic.currency, nordic.owner, nordic.domains) == (350_050, "EUR", admin, ["nordicdairy.example", "nd.example"])
    assert Activity.objects.filter(account=nordic, event="account.owner_changed").exists()


def test_csm_adds_a_contact_and_a_task(client, book, csm):
    client.force_login(csm)
    base = f"/o/flowfuse/accounts/{book['nordic'].public_id}"
    client.post(f"{base}/contacts/new/", {"name": "Lena Berg", "email": "lena@nordic.example", "role": "executive_sponsor"})
    client.post(f"{base}/tasks/new/", {"title": "Send QBR invite", "priority": "high", "due_date": "2026-12-01"})
    html = client.get(base + "/").content.decode()
    assert "Lena Berg" in html and "Executive sponsor" in html and "Send QBR invite" in html
    assert Task.objects.get(title="Send QBR invite").owner == csm  # the account's CSM by default


def test_csm_corrects_a_contacts_details(client, book, csm):
    contact = services.contact_save(account=book["nordic"], actor=None, name="Lena Berg", email="lena@old.example")
    client.force_login(csm)
    url = f"/o/flowfuse/accounts/{book['nordic'].public_id}/contacts/{contact.public_id}/"
    assert client.post(url, {"name": "Lena Berg", "email": "not an email", "role": "user"}).status_code == 422
    client.post(url, {"name": "Lena Berg", "email": "lena@nordic.example", "role": "champion"})
    contact.refresh_from_db()
    assert (contact.email, contact.role) == ("lena@nordic.example", "champion")
    # A contact is only reachable through its own account.
    other = f"/o/flowfuse/accounts/{book['greenfield'].public_id}/contacts/{contact.public_id}/"
    assert client.get(other).status_code == 404


def test_a_handoff_on_an_existing_account_moves_it_into_onboarding(org, book, csm, in_org):
    ae = member(org, Role.AE)
    nordic = book["nordic"]
    handoff = services.handoff_log(
        organization=org, ae=ae, account_name="", account=nordic, tier=book["premium"], arr=2_400_000
    )
    nordic.refresh_from_db()
    assert (nordic.stage.name, nordic.tier, nordic.ae, nordic.arr) == ("Onboarding", book["premium"], ae, 2_400_000)
    assert handoff.account == nordic and Account.objects.filter(name__startswith="Nordic").count() == 1
    assert TierChange.objects.filter(account=nordic, reason="Deal committed").exists()


def test_a_handoff_respects_an_admins_renamed_stages(org, book, in_org):
    services.stage_save(organization=org, actor=None, stage=stage("Onboarding"), name="Kickoff")
    handoff = services.handoff_log(organization=org, ae=member(org, Role.AE), account_name="Renamed Stages Ltd")
    assert handoff.account.stage.name == "Kickoff"
    assert not LifecycleStage.objects.filter(name="Onboarding").exists()  # no defaults brought back
