"""A scale organization for benchmarks: 100,000 accounts and a million timeline entries in minutes.

Rows go in through PostgreSQL COPY (psycopg 3), not the ORM or the services: the services
would take hours for this much history, and a benchmark needs the volume, not the audit
trail. The rows have the shape the services leave, though: a "Created" tier change and an
entry stage change per account, a HubSpot id, and "last contact" equal to the newest call,
meeting or e-mail, so pages show what they would in real use. The words come from the
demo's vocabulary (``demo.cohorts``, ``demo.vocabulary``).

    python bench/generate.py --accounts 100000 --activities 1000000

builds one in its own database (``tend_scale``, kept between runs; the previous scale
organization is replaced) and prints the timings as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

if __name__ == "__main__":  # run as a script: the project on the path, Django configured
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cs_platform.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()

from django.apps import apps
from django.db import connection, models, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from demo.book import TASK_TITLES
from demo.cohorts import TIERS, arr_for, tiers_create
from demo.vocabulary import KIND_WEIGHTS, Company, company, person, timeline_entry
from accounts.models import (
    CONTACT_KINDS,
    Account,
    AccountExternalId,
    Activity,
    ActivityKind,
    Contact,
    ContactRole,
    Priority,
    StageChange,
    Task,
    TierChange,
)
from accounts.services import stages_create_defaults
from cs_platform.models import Organization, Role, User
from cs_platform.services import membership_add
from cs_platform.tenancy import TenantModel, new_public_id

CSM_COUNT = 8
HEAVY_ACTIVITIES = 5_000  # on one account, for the Account 360 page's worst case
HISTORY_DAYS = 540
# Stage mix of an established book (seed 002's stages); new accounts are onboarding.
STAGE_WEIGHTS = {"Adoption": 25, "Retention": 42, "Expansion": 12, "At-Risk": 8, "Churned": 5}
CONTACT_KIND_LIST = sorted(CONTACT_KINDS)


@dataclass
class Generated:
    organization: Organization
    csms: list[User]
    heavy_account: str  # public id of the account with the most activities
    counts: dict[str, int]
    seconds: dict[str, float]


def generate(organization: Organization, *, accounts: int = 100_000, activities: int = 1_000_000, seed: int = 1) -> Generated:
    """Fill ``organization`` with a book of ``accounts`` accounts and ``activities`` timeline entries."""
    with scope(organization=organization), transaction.atomic(), connection.cursor() as cursor:
        # Check foreign keys row by row rather than queue a million deferred checks for the commit.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        try:
            return _Loader(organization, cursor.cursor, random.Random(seed)).run(accounts, activities)
        finally:  # Django's foreign keys are INITIALLY DEFERRED; an enclosing transaction expects that
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class _Loader:
    def __init__(self, organization: Organization, cursor, rng: random.Random) -> None:
        self.organization, self.org_id, self.cursor, self.rng = organization, organization.pk, cursor, rng
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def run(self, account_count: int, activity_count: int) -> Generated:
        clock = time.perf_counter()
        csms = [self.member(f"csm{n}", Role.CSM) for n in range(CSM_COUNT)]
        ae = self.member("ae", Role.AE)
        coverage = {"Trial": [], "Starter": csms[CSM_COUNT // 2:], "Premium": csms, "Enterprise": csms[:2]}
        tiers = tiers_create(organization=self.organization, actor=None, coverage=coverage)
        stages = {stage.name: stage.pk for stage in stages_create_defaults(organization=self.organization)}
        self.seconds["setup"] = time.perf_counter() - clock

        book = self.plan_accounts(account_count, activity_count, coverage, ae)
        self.load(Account, [
            "id", "organization", "public_id", "created_at", "updated_at", "name", "domains", "owner", "ae", "tier",
            "stage", "stage_entered_at", "arr", "currency", "contract_start", "renewal_date", "priority", "status",
            "qbr_nominated", "notes", "last_contacted_at",
        ], (
            (a.id, self.org_id, a.public_id, self.now, self.now, a.company.name, [a.company.domain], a.owner, a.ae,
             tiers[a.tier].pk, stages[a.stage], a.stage_entered_at, a.arr, self.organization.currency,
             a.contract_start, a.renewal_date, a.priority, "churned" if a.stage == "Churned" else "active", False, "",
             a.last_contacted_at)
            for a in book
        ))
        self.load(TierChange, ["organization", "public_id", "created_at", "account", "to_tier", "changed_at", "reason"], (
            (self.org_id, new_public_id(), self.now, a.id, tiers[a.tier].pk, a.started_at, "Created") for a in book
        ))
        self.load(StageChange, ["organization", "public_id", "created_at", "account", "to_stage", "entered_at"], (
            (self.org_id, new_public_id(), self.now, a.id, stages[a.stage], a.stage_entered_at) for a in book
        ))
        self.load(AccountExternalId, ["organization", "public_id", "created_at", "account", "source", "external_id", "synced_at"], (
            (self.org_id, new_public_id(), self.now, a.id, "hubspot", str(10_000_000 + n), self.now) for n, a in enumerate(book)
        ))
        self.load(Contact, [
            "id", "organization", "public_id", "created_at", "account", "name", "email", "title", "role",
            "last_contacted_at", "phone", "external_id", "source",
        ], self.contacts(book))
        self.load(Task, [
            "organization", "public_id", "created_at", "account", "owner", "title", "description", "due_date", "priority",
            "status", "source", "created_by",
        ], self.tasks(book))
        self.load(Activity, [
            "organization", "public_id", "created_at", "account", "contact", "kind", "event", "subject", "body",
            "author", "occurred_at",
        ], self.activities(book))
        clock = time.perf_counter()
        for model in (Account, TierChange, StageChange, AccountExternalId, Contact, Task, Activity):
            self.cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        self.seconds["analyze"] = time.perf_counter() - clock
        self.seconds = {name: round(value, 2) for name, value in self.seconds.items()}
        return Generated(self.organization, csms, book[0].public_id, self.counts, self.seconds)

    # -- people and accounts

    def member(self, email_name: str, role: str) -> User:
        full_name, _ = person(self.rng, "bench.example")
        email = f"{email_name}@{self.organization.slug}.bench.example"
        user, _ = User.objects.get_or_create(email=email, defaults={"full_name": full_name})
        membership_add(organization=self.organization, user=user, role=role, actor=None)
        return user

    def plan_accounts(self, count: int, activity_count: int, coverage: dict[str, list[User]], ae: User) -> list[_Account]:
        rng, now = self.rng, self.now
        ids = self.reserve_ids(Account, count)
        tier_names = rng.choices([s.name for s in TIERS], weights=[s.share for s in TIERS], k=count)
        tier_names[0] = "Enterprise"  # the heavy account: an enterprise customer with years of history
        per_activity_weight = {s.name: sum(s.activities) / 2 for s in TIERS}
        heavy = min(HEAVY_ACTIVITIES, activity_count // 10) if count > 1 else activity_count
        activity_counts = [0] * count
        activity_counts[0] = heavy
        weights, total = [], 0.0
        for name in tier_names[1:]:
            total += per_activity_weight[name]
            weights.append(total)
        for index in rng.choices(range(1, count), cum_weights=weights, k=activity_count - heavy) if count > 1 else []:
            activity_counts[index] += 1

        book = []
        for n, (account_id, tier) in enumerate(zip(ids, tier_names)):
            spec = next(s for s in TIERS if s.name == tier)
            age = HISTORY_DAYS if n == 0 else rng.randint(2, 150) if tier == "Trial" else rng.randint(7, HISTORY_DAYS)
            started_at = now - dt.timedelta(days=age, seconds=rng.randint(0, 86_399))
            stage = "Onboarding" if age < 45 else rng.choices(list(STAGE_WEIGHTS), weights=list(STAGE_WEIGHTS.values()))[0]
            entered = started_at if stage == "Onboarding" else now - dt.timedelta(days=rng.randint(1, age))
            owner = self.owner(n, tier, coverage)
            paid = spec.arr_range[1] > 0
            contract_start = renewal = None
            if paid:  # yearly contracts; a churned one ended when the account churned
                contract_start = started_at.date()
                renewal = entered.date() if stage == "Churned" else contract_start + dt.timedelta(days=365 * (age // 365 + 1))
            last_contact = None
            if activity_counts[n]:
                # Recently touched, mostly; accounts at risk went quiet weeks ago.
                gap = rng.expovariate(1 / (45 if stage == "At-Risk" else 12))
                last_contact = max(started_at, now - dt.timedelta(days=gap))
            book.append(_Account(
                id=account_id, public_id=new_public_id(), company=company(rng), tier=tier, stage=stage,
                started_at=started_at, stage_entered_at=entered, owner=owner, ae=ae.pk if paid else None,
                arr=arr_for(spec, rng), contract_start=contract_start, renewal_date=renewal,
                priority=rng.choices(list(Priority), weights=[20, 55, 20, 5])[0], last_contacted_at=last_contact,
                activity_count=activity_counts[n],
            ))
        return book

    def owner(self, n: int, tier: str, coverage: dict[str, list[User]]) -> int | None:
        """A CSM covering the tier; trials are tech touch, bar the odd one a CSM keeps an eye on."""
        if n == 0:  # the heavy account belongs to the first CSM, whom the benchmark signs in as
            return coverage["Enterprise"][0].pk
        if coverage[tier]:
            return self.rng.choice(coverage[tier]).pk
        return self.rng.choice(coverage["Premium"]).pk if self.rng.random() < 0.1 else None

    # -- related rows, streamed straight into COPY

    def contacts(self, book: list[_Account]) -> Iterator[tuple]:
        """About one person per account; the first is the one the account's last contact was with."""
        sizes = self.rng.choices([0, 1, 2], weights=[25, 50, 25], k=len(book))
        # Reserved now, not lazily: the connection cannot run a query in the middle of a COPY.
        ids = iter(self.reserve_ids(Contact, sum(sizes)))
        return self._contact_rows(book, sizes, ids)

    def _contact_rows(self, book: list[_Account], sizes: list[int], ids: Iterator[int]) -> Iterator[tuple]:
        rng = self.rng
        for account, size in zip(book, sizes):
            for k in range(size):
                contact_id = next(ids)
                role = ContactRole.CHAMPION if k == 0 else rng.choice(list(ContactRole))
                if k == 0:
                    account.contact = contact_id
                name, email = person(rng, account.company.domain)
                yield (
                    contact_id, self.org_id, new_public_id(), self.now, account.id, name, email, "", role,
                    account.last_contacted_at if k == 0 else None, "", "", "",
                )

    def tasks(self, book: list[_Account]) -> Iterator[tuple]:
        """About one open task per three accounts, for the accounts' owners: some overdue, some undated."""
        rng = self.rng
        owned = sum(1 for account in book if account.owner)
        chance = min(1.0, len(book) / 3 / max(owned, 1))
        for account in book:
            if account.owner and rng.random() < chance:
                due = None if rng.random() < 0.1 else self.today + dt.timedelta(days=rng.randint(-20, 30))
                title = rng.choice(TASK_TITLES).format(use_case=account.company.use_case)
                yield (
                    self.org_id, new_public_id(), self.now, account.id, account.owner, title, "", due,
                    rng.choice(list(Priority)), "open", "manual", account.owner,
                )

    def activities(self, book: list[_Account]) -> Iterator[tuple]:
        """Each account's timeline; its newest contact-kind entry is exactly its "last contact"."""
        rng, now = self.rng, self.now.timestamp()
        kinds, cum_weights = list(KIND_WEIGHTS), list(itertools.accumulate(KIND_WEIGHTS.values()))
        utc = dt.timezone.utc
        for account in book:
            if not account.activity_count:
                continue
            start, last = account.started_at.timestamp(), account.last_contacted_at.timestamp()
            use_case = account.company.use_case
            for k in range(account.activity_count):
                if k == 0:  # the last contact itself
                    kind, when = rng.choice(CONTACT_KIND_LIST), last
                else:
                    kind = rng.choices(kinds, cum_weights=cum_weights)[0]
                    when = rng.uniform(start, last if kind in CONTACT_KINDS else now)
                contact = account.contact if kind in CONTACT_KINDS and (k == 0 or rng.random() < 0.6) else None
                subject, body = timeline_entry(rng, kind, use_case)
                yield (
                    self.org_id, new_public_id(), self.now, account.id, contact, kind, "", subject, body,
                    None if kind == ActivityKind.EMAIL_RECEIVED else account.owner,
                    account.last_contacted_at if k == 0 else dt.datetime.fromtimestamp(when, utc),
                )

    # -- COPY

    def reserve_ids(self, model: type[models.Model], count: int) -> list[int]:
        """Primary keys taken from the table's own sequence, so related rows can point at them before COPY."""
        self.cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [model._meta.db_table, count]
        )
        return [row[0] for row in self.cursor.fetchall()]

    def load(self, model: type[models.Model], fields: list[str], rows: Iterable[tuple]) -> None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
        clock, count = time.perf_counter(), 0
        with self.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        self.seconds[model._meta.model_name] = time.perf_counter() - clock
        self.counts[model._meta.model_name] = count


@dataclass
class _Account:
    id: int
    public_id: str
    company: Company
    tier: str
    stage: str
    started_at: dt.datetime
    stage_entered_at: dt.datetime
    owner: int | None
    ae: int | None
    arr: int
    contract_start: dt.date | None
    renewal_date: dt.date | None
    priority: str
    last_contacted_at: dt.datetime | None
    activity_count: int
    contact: int | None = None  # the first contact's id, once contacts are planned


def drop_organization(organization: Organization) -> None:
    """Delete a scale organization quickly: one DELETE per tenant table, then the organization.

    Django's cascade would load a million rows into memory first. Foreign keys are checked
    at commit, so the order of the DELETEs does not matter.
    """
    quote = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cursor:
        for model in apps.get_models():
            if issubclass(model, TenantModel):
                cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE organization_id = %s", [organization.pk])
        with scopes_disabled():
            Organization.objects.filter(pk=organization.pk).delete()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--slug", default="scale")
    options = parser.parse_args()

    # Its own database, kept between runs, never the demo's or the test suite's. Not
    # serialized: keepdb would otherwise dump a million rows into memory on every start.
    connection.settings_dict["TEST"]["NAME"] = "tend_scale"
    connection.creation.create_test_db(verbosity=0, keepdb=True, serialize=False)
    previous = Organization.objects.filter(slug=options.slug).first()
    if previous is not None:
        drop_organization(previous)
    started = time.perf_counter()
    organization = Organization.objects.create(name=f"Scale {options.accounts}", slug=options.slug)
    result = generate(organization, accounts=options.accounts, activities=options.activities, seed=options.seed)
    print(json.dumps({
        "database": connection.settings_dict["NAME"], "organization": organization.slug,
        "accounts": options.accounts, "activities": options.activities, "rows": result.counts,
        "seconds": result.seconds, "total_s": round(time.perf_counter() - started, 2),
        "heavy_account": result.heavy_account,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
