"""The demo ``make demo`` shows: FlowFuse's cohorts, book and people, 90 days of its product
usage, and what the pages need of them.

The demo is seeded once for this module (a smaller one than ``make demo``'s, of the same
shape: ``--scale``), committed so pages and workers could see it, and removed afterwards;
its tests run on one test process (the root conftest's ``SHARED_PROCESS_MODULES``), so it
is seeded once per run.
"""

from __future__ import annotations

import datetime as dt
import statistics
import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import (
    CONTACT_KINDS,
    Account,
    AccountExternalId,
    Activity,
    Contact,
    ContactRole,
    Handoff,
    LifecycleStage,
    StageChange,
    Task,
    TaskStatus,
    Tier,
    TierChange,
)
from bench.generate import drop_organization, generate
from cs_platform.models import AuditEntry, Membership, Organization, Role, User
from demo.book import CHAMPIONS_LEFT, HANDOFF_COUNT, account_count
from demo.management.commands.seed_demo import SANDBOX_PEOPLE
from demo.people import DEMO_PASSWORD, DEMO_PEOPLE
from demo.usage import API_CALL_EVENT, FEATURES, LOGIN_EVENT
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily, UsageEvent, UsageUser
from usage.selectors import PRODUCT_SOURCE, unmatched

# Enough accounts for every cohort, stage and trajectory to show, in about half make demo's seeding time.
SCALE = 0.6
# The smallest demo, for what only needs its shape (seeding again, people and roles).
SMALLEST = 0.1

TENANT_MODELS = [Account, AccountExternalId, Activity, Contact, Handoff, StageChange, Task, Tier, TierChange]


def _counts(organization: Organization) -> dict[str, int]:
    return {model.__name__: model.objects.filter(organization=organization).count() for model in TENANT_MODELS}


def _last_contact_mismatches(organization: Organization) -> int:
    """Accounts whose "last contact" is not their newest call, meeting or e-mail."""
    newest = (
        Activity.objects.filter(account=OuterRef("pk"), kind__in=CONTACT_KINDS).order_by("-occurred_at").values("occurred_at")[:1]
    )
    accounts = Account.objects.filter(organization=organization).annotate(newest=Subquery(newest))
    return accounts.exclude(Q(newest__isnull=True, last_contacted_at__isnull=True) | Q(newest=F("last_contacted_at"))).count()


DEMO_SLUGS = ["flowfuse", "nodewave"]
def _remove_demo() -> None:
    for organization in Organization.objects.filter(slug__in=DEMO_SLUGS):
        drop_organization(organization)
    User.objects.filter(email__in=[email for email, _, _ in DEMO_PEOPLE + SANDBOX_PEOPLE]).delete()


def _remove_demo() -> None:
    for organization in Organization.objects.filter(slug__in=DEMO_SLUGS):
        drop_organization(organization)
    User.objects.filter(email__in=[email for email, _, _ in DEMO_PEOPLE + SANDBOX_PEOPLE]).delete()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker) -> str:
    """Seeded once for the module and committed; removed afterwards, so no other test sees it."""
    with django_db_blocker.unblock():
        _remove_demo()  # left over by an interrupted run
        output = StringIO()
        call_command("seed_demo", "--scale", str(SCALE), stdout=output)
        yield output.getvalue()
        _remove_demo()


@pytest.fixture
def demo(seeded, db) -> Organization:
    return Organization.objects.get(slug="flowfuse")


# --- The book -------------------------------------------------------------------------------

def test_demo_has_flowfuse_cohorts_in_order_with_their_coverage(demo):
    with scope(organization=demo):
        tiers = list(Tier.objects.order_by("position"))
        assert [(t.name, t.position, t.touch) for t in tiers] == [
            ("Trial", 1, "automated"), ("Starter", 2, "pooled"), ("Premium", 3, "pooled"), ("Enterprise", 4, "dedicated"),
        ]
        assert [t.check_in_cadence_days for t in tiers] == [None, 90, 30, 14]
        assert [t.qbr_arr_threshold for t in tiers] == [None, None, 1_000_000, 1_000_000]
        assert [sorted(u.email for u in t.csms.all()) for t in tiers] == [
            [], ["csm2@flowfuse.example"], ["csm2@flowfuse.example", "csm@flowfuse.example"], ["csm@flowfuse.example"],
        ]


def test_demo_book_spans_every_tier_and_stage_with_history(demo):
    with scope(organization=demo):
        accounts = Account.objects.all()
        assert abs(accounts.count() - account_count(SCALE)) <= 10
        by_tier = dict(accounts.values_list("tier__name").annotate(n=Count("id")))
        assert min(by_tier["Trial"], by_tier["Starter"]) > by_tier["Premium"] > by_tier["Enterprise"] > 0
        assert set(accounts.values_list("stage__name", flat=True)) == set(LifecycleStage.objects.values_list("name", flat=True))
        assert accounts.filter(status="churned").count() == accounts.filter(stage__name="Churned").count() > 0
        assert accounts.filter(parent__isnull=False).values("parent").distinct().count() >= 2
        assert not accounts.filter(tier__isnull=False).exclude(tier_changes__isnull=False).exists()
        assert TierChange.objects.filter(from_tier__name="Starter", to_tier__name="Premium").exists()
        assert TierChange.objects.filter(changed_at__lt=timezone.now() - timezone.timedelta(days=180)).exists()  # back-dated
        assert accounts.filter(renewal_date__lte=timezone.localdate() + timezone.timedelta(days=60)).exists()
        assert AccountExternalId.objects.filter(source="hubspot").count() == accounts.count()
        assert not accounts.filter(tier__name="Enterprise", arr__lt=8_000_000).exists()
        assert _last_contact_mismatches(demo) == 0


def test_demo_people_tasks_and_handoffs(demo):
    csm = User.objects.get(email="csm@flowfuse.example")
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(demo.time_zone))  # the demo's dates are Amsterdam's
    with scope(organization=demo):
        paid = Account.objects.exclude(tier__name="Trial")
        assert paid.filter(contacts__role=ContactRole.CHAMPION).distinct().count() > 0.8 * paid.count()
        assert Contact.objects.filter(role=ContactRole.EXECUTIVE_SPONSOR).exists()
        assert Contact.objects.filter(role=ContactRole.CHAMPION, left_at__isnull=False).count() == CHAMPIONS_LEFT

        mine = Task.objects.filter(owner=csm, status=TaskStatus.OPEN)
        assert mine.filter(due_date__lt=today).exists() and mine.filter(due_date=today).exists()
        assert mine.filter(due_date__gt=today).exists()
        assert Task.objects.filter(status=TaskStatus.DONE, completed_at__isnull=False).exists()

        handoffs = list(Handoff.objects.all())
        assert len(handoffs) == HANDOFF_COUNT
        assert {h.ae.email for h in handoffs} == {"ae@flowfuse.example"}
        assert len({h.completeness_percent for h in handoffs}) >= 3 and 100 in {h.completeness_percent for h in handoffs}


def test_generator_fills_an_organization_with_consistent_rows(db):
    organization = Organization.objects.create(name="Scale", slug="scale")
    bystander = Organization.objects.create(name="Bystander", slug="bystander")
    result = generate(organization, accounts=200, activities=2_000, seed=3)
    with scope(organization=organization):
        counts = _counts(organization)
        assert counts["Account"] == 200 and counts["Activity"] == 2_000
        assert counts["Tier"] == 4 and counts["TierChange"] == 200 and counts["AccountExternalId"] == 200
        assert 30 <= counts["Task"] <= 120 and counts["Contact"] >= 100
        # Every row hangs off an account of the same organization, with tiers and owners of its own.
        for model in (Activity, Contact, Task, TierChange, StageChange, AccountExternalId):
            assert not model.objects.exclude(account__organization=organization).exists()
        assert not Account.objects.exclude(tier__organization=organization, stage__organization=organization).exists()
        assert _last_contact_mismatches(organization) == 0
        heavy = Account.objects.get(public_id=result.heavy_account)
        assert heavy.activities.count() == max(a.activities.count() for a in Account.objects.all())
        assert Account.objects.filter(owner__in=result.csms).count() > 100
    with scope(organization=bystander):  # nothing landed in another organization
        assert sum(_counts(bystander).values()) == 0


def test_seeding_again_replaces_the_demo_with_the_same_book_and_a_person_for_every_role(client, db):
    """Inside this test's transaction (rolled back after), so the module's demo is left alone."""
    call_command("seed_demo", "--scale", str(SMALLEST), stdout=StringIO())
    first = Organization.objects.get(slug="flowfuse")
    with scope(organization=first):
        counts = _counts(first)
    call_command("seed_demo", "--scale", str(SMALLEST), stdout=StringIO())  # replaces, never duplicates
    flowfuse = Organization.objects.get(slug="flowfuse")
    assert flowfuse.pk != first.pk
    with scope(organization=flowfuse):
        assert _counts(flowfuse) == counts
        assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
        assert Membership.objects.count() == len(DEMO_PEOPLE)
        assert AuditEntry.objects.filter(action="membership.added").count() == len(DEMO_PEOPLE) - 1
    with scopes_disabled():
        assert Membership.objects.filter(user__email="admin@flowfuse.example").count() == 2  # and Nodewave Labs
    response = client.post("/auth/login/", {"username": "csm@flowfuse.example", "password": DEMO_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/o/flowfuse/accounts/"


# --- Product usage ------------------------------------------------------------------------

def test_demo_defines_flowfuse_features_logins_and_api_calls(demo):
    with scope(organization=demo):
        features = list(EventDefinition.objects.filter(role=EventRole.FEATURE).order_by("position"))
        assert [d.event_name for d in features] == [f.event_name for f in FEATURES]
        assert all(d.label and d.description for d in features)
        names = EventDefinition.objects.exclude(role=EventRole.FEATURE).values_list("role", "event_name")
        assert sorted(names) == [(EventRole.API_CALL, API_CALL_EVENT), (EventRole.LOGIN, LOGIN_EVENT)]


def test_demo_accounts_have_product_ids_people_and_events(demo, seeded):
    now = timezone.now()
    with scope(organization=demo):
        accounts = Account.objects.count()
        assert AccountExternalId.objects.filter(source=PRODUCT_SOURCE).count() == accounts
        with_events = UsageEvent.objects.filter(account__isnull=False).values("account").distinct().count()
        assert with_events >= 0.9 * accounts
        assert UsageEvent.objects.filter(timestamp__gt=now).count() == 0
        assert UsageEvent.objects.filter(timestamp__lt=now - dt.timedelta(days=91)).count() == 0
        by_event = dict(UsageEvent.objects.filter(type="track").values_list("event").annotate(n=Count("id")))
        assert by_event[LOGIN_EVENT] > 1_000 and by_event[API_CALL_EVENT] > 100
        assert set(by_event) >= {f.event_name for f in FEATURES}
        # Every person was identified (name, e-mail, title) and grouped into their account.
        matched = UsageUser.objects.filter(account__isnull=False)
        assert matched.count() >= accounts
        assert not matched.exclude(traits__has_keys=["name", "email", "title"]).exists()
        assert Contact.objects.filter(source="product").count() == matched.count()
        # Weekdays are busier than weekends.
        logins = UsageEvent.objects.filter(event=LOGIN_EVENT)
        weekend = logins.filter(timestamp__week_day__in=[1, 7]).count()
        assert weekend < 0.15 * logins.count()
    assert "usage messages" in seeded


def test_demo_usage_has_healthy_declining_dormant_and_new_accounts(demo):
    with scope(organization=demo):
        usage = list(AccountUsage.objects.select_related("account__tier", "account__stage"))
        assert len(usage) == Account.objects.count()
        dormant = [u for u in usage if u.days_since_last_use is not None and u.days_since_last_use >= 21]
        declining = [u for u in usage if u.trend_4w_pct is not None and u.trend_4w_pct <= -30 and u not in dormant]
        healthy = [u for u in usage if u.trend_4w_pct is not None and u.trend_4w_pct > -15 and u.events_7d > 0]
        assert 0.05 * len(usage) <= len(dormant) <= 0.25 * len(usage)
        assert 0.1 * len(usage) <= len(declining) <= 0.35 * len(usage)
        assert len(healthy) >= 0.4 * len(usage)
        assert all(u.events_7d == 0 for u in dormant)
        # Onboarding accounts started inside the window: nothing in the four weeks before.
        onboarding = [u for u in usage if u.account.stage and u.account.stage.name == "Onboarding"]
        assert onboarding and sum(u.events_prev_28d == 0 for u in onboarding) >= len(onboarding) // 3


def test_demo_account_usage_values_are_plausible(demo):
    with scope(organization=demo):
        active = list(AccountUsage.objects.filter(events_7d__gt=0).select_related("account__tier"))
        assert active
        for row in active:
            assert row.features_total == len(FEATURES)
            assert 0 <= row.feature_adoption_pct <= 100
            assert 1 <= row.active_users_7d <= 25
            assert row.logins_7d <= row.events_7d and row.api_calls_7d <= row.events_7d
            assert row.events_28d >= row.events_7d
        adoption = {
            tier: statistics.median(r.feature_adoption_pct for r in active if r.account.tier.name == tier)
            for tier in ("Trial", "Enterprise")
        }
        assert adoption["Enterprise"] > adoption["Trial"]
        assert any(row.api_calls_7d > 0 for row in active)
        assert UsageDaily.objects.filter(metric="features_used").exists()


def test_demo_leaves_usage_for_admins_to_map(demo):
    with scope(organization=demo):
        identities = unmatched()
        groups = [i for i in identities if i.kind == "group"]
        people = [i for i in identities if i.kind == "user"]
        assert len(groups) == 2 and len(people) == 1
        assert all(i.events > 0 and i.hint for i in identities)
        known = set(AccountExternalId.objects.values_list("external_id", flat=True))
        assert not known & {i.identifier for i in groups}
