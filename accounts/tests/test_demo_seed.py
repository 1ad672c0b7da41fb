"""Demo data and the scale generator: the shapes people (and benchmarks) rely on are there."""

from __future__ import annotations

import zoneinfo
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django_scopes import scope

from accounts.demo import ACCOUNT_COUNT, CHAMPIONS_LEFT, HANDOFF_COUNT
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
from cs_platform.demo import DEMO_PEOPLE
from cs_platform.management.commands.seed_demo import SANDBOX_PEOPLE
from cs_platform.models import Organization, User

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


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seeded once for the module (it takes seconds), committed, and removed afterwards,
    so the rest of the suite never sees it."""
    with django_db_blocker.unblock():
        _remove_demo()  # left over by an interrupted run
        call_command("seed_demo", stdout=StringIO())
        yield
        _remove_demo()


@pytest.fixture
def demo(seeded, db) -> Organization:
    return Organization.objects.get(slug="flowfuse")


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
        assert abs(accounts.count() - ACCOUNT_COUNT) <= 10
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


def test_seeding_twice_gives_the_same_book(demo):
    with scope(organization=demo):
        first = _counts(demo)
    call_command("seed_demo", stdout=StringIO())  # inside this test's transaction: rolled back after
    again = Organization.objects.get(slug="flowfuse")
    assert again.pk != demo.pk
    with scope(organization=again):
        assert _counts(again) == first


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
