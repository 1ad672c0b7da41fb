"""The demo's product usage: 90 days of events, ingested and rolled up, with every shape a CSM needs to see."""

from __future__ import annotations

import datetime as dt
import os
import statistics
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from django_scopes import scope

from accounts.models import Account, AccountExternalId, Contact
from accounts.tests.test_demo_seed import _remove_demo
from cs_platform.models import Organization
from usage.demo import API_CALL_EVENT, FEATURES, LOGIN_EVENT
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily, UsageEvent, UsageUser
from usage.selectors import PRODUCT_SOURCE, unmatched


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The whole demo, seeded once for the module and committed (as the accounts' demo test
    does), with fewer people per account so it stays quick; removed afterwards."""
    previous = os.environ.get("TEND_DEMO_USAGE_SCALE")
    os.environ["TEND_DEMO_USAGE_SCALE"] = "0.4"
    try:
        with django_db_blocker.unblock():
            _remove_demo()
            output = StringIO()
            call_command("seed_demo", stdout=output)
            yield output.getvalue()
            _remove_demo()
    finally:
        if previous is None:
            os.environ.pop("TEND_DEMO_USAGE_SCALE", None)
        else:
            os.environ["TEND_DEMO_USAGE_SCALE"] = previous


@pytest.fixture
def demo(seeded, db) -> Organization:
    return Organization.objects.get(slug="flowfuse")


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
