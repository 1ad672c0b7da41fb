"""The demo book's plans: what each account is to be today (cohort, stage, owner, contract,
priority) and the history that led there, drawn before anything is written (``demo.book``
writes them through the services). One random stream, so the same seed plans the same book."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils.text import slugify

from accounts.models import Account, Contact, Priority
from cs_platform.models import User
from demo.cohorts import AE, CSM, CSM2, DEMO_COVERAGE, TIER_SPECS, TierSpec, arr_for
from demo.vocabulary import SITES, Company, company

HISTORY_DAYS = 540  # 18 months
STAGE_ROUTES = {
    "Onboarding": ["Onboarding"],
    "Adoption": ["Onboarding", "Adoption"],
    "Retention": ["Onboarding", "Adoption", "Retention"],
    "Expansion": ["Onboarding", "Adoption", "Retention", "Expansion"],
    "At-Risk": ["Onboarding", "Adoption", "Retention", "At-Risk"],
    "Churned": ["Onboarding", "Adoption", "At-Risk", "Churned"],
}


@dataclass
class AccountPlan:
    """One account to be: what it is today and the history that led there."""

    company: Company
    path: list[str]  # tier names, oldest first; the last is the current tier
    tier_dates: list[dt.date]
    stages: list[tuple[str, dt.date]]  # stage route with entry dates
    owner: User | None
    ae: User | None
    arr: int
    contract_start: dt.date | None = None
    renewal_date: dt.date | None = None
    priority: str = Priority.MEDIUM
    parent: AccountPlan | None = None
    from_handoff: bool = False
    account: Account | None = None
    contacts: list[Contact] = field(default_factory=list)

    @property
    def started(self) -> dt.date:
        return self.stages[0][1]

    @property
    def tier(self) -> TierSpec:
        return TIER_SPECS[self.path[-1]]

    @property
    def stage(self) -> str:
        return self.stages[-1][0]

    @property
    def active(self) -> bool:
        return self.stage != "Churned"


class Planner:
    """Draws account plans for one organization's book, from one random stream."""

    def __init__(self, *, rng: random.Random, today: dt.date, people: dict[str, User]) -> None:
        self.rng, self.today, self.people = rng, today, people
        self.names: set[str] = set()

    def between(self, start: dt.date, end: dt.date) -> dt.date:
        return start + dt.timedelta(days=self.rng.randint(0, max(0, (end - start).days)))

    def new_company(self) -> Company:
        while True:
            candidate = company(self.rng)
            if candidate.name not in self.names:
                self.names.add(candidate.name)
                return candidate

    def owner_for(self, tier: str) -> User | None:
        covering = DEMO_COVERAGE[tier]
        if not covering:  # tech touch; the odd promising trial gets a CSM's eye
            return self.rng.choice([self.people[CSM], self.people[CSM2]]) if self.rng.random() < 0.12 else None
        return self.people[self.rng.choice(covering)]


    def plan(self, *, tier: str, started: dt.date | None = None, company: Company | None = None) -> AccountPlan:
        rng, today = self.rng, self.today
        if started is None:
            started = today - dt.timedelta(days=rng.randint(2, 150) if tier == "Trial" else rng.randint(7, HISTORY_DAYS))
        age = (today - started).days
        stages = self.stage_route(tier, started, age)
        path = self.tier_path(tier, age)
        # Tier moves happen while the account is healthy: before it turned at risk or churned.
        last_move = (stages[-1][1] if stages[-1][0] in ("At-Risk", "Churned") else today) - dt.timedelta(days=14)
        span = max(0, (last_move - started).days)
        tier_dates = [started] + sorted(started + dt.timedelta(days=rng.randint(span // 4, span)) for _ in path[1:])
        plan = AccountPlan(
            company=company or self.new_company(), path=path, tier_dates=tier_dates, stages=stages,
            owner=self.owner_for(tier), ae=self.people[AE] if tier != "Trial" else None, arr=arr_for(TIER_SPECS[tier], rng),
        )
        self.set_contract(plan)
        return plan

    def stage_route(self, tier: str, started: dt.date, age: int) -> list[tuple[str, dt.date]]:
        rng, today = self.rng, self.today
        chance = rng.random()
        # Churn needs a lapsed contract, at-risk some history: ~5% and ~8% of the book overall.
        if age > 150 and chance < 0.085:
            target = "Churned"
        elif age > 90 and chance < 0.185:
            target = "At-Risk"
        elif age < 45 and tier != "Trial" or age < 21:
            target = "Onboarding"
        elif age < 120 or tier == "Trial":
            target = "Adoption"
        else:
            target = rng.choices(["Retention", "Expansion", "Adoption"], weights=[55, 25 if tier in ("Premium", "Enterprise") else 10, 20])[0]
        route = STAGE_ROUTES[target]
        if target == "Churned":
            last = today - dt.timedelta(days=rng.randint(7, min(150, age - 90)))
        elif target == "At-Risk":
            last = today - dt.timedelta(days=rng.randint(5, 60))
        elif target == "Adoption":
            last = min(started + dt.timedelta(days=rng.randint(21, 40)), today)
        else:
            last = started + dt.timedelta(days=int(age * rng.uniform(0.5, 0.95)))
        steps = len(route) - 1
        return [(name, started + (last - started) * k // steps if steps else started) for k, name in enumerate(route)]

    def tier_path(self, tier: str, age: int) -> list[str]:
        """How the account got to ``tier``: seed 001's goal is moving customers down the cohort table."""
        if age < 90:
            return [tier]
        chance = self.rng.random()
        paths = {
            "Starter": [(0.45, ["Trial", "Starter"]), (0.50, ["Premium", "Starter"])],
            "Premium": [(0.20, ["Trial", "Starter", "Premium"]), (0.55, ["Starter", "Premium"]), (0.60, ["Enterprise", "Premium"])],
            "Enterprise": [(0.15, ["Starter", "Premium", "Enterprise"]), (0.50, ["Premium", "Enterprise"])],
        }
        return next((path for limit, path in paths.get(tier, []) if chance < limit), [tier])

    def set_contract(self, plan: AccountPlan) -> None:
        """Paid accounts have a yearly contract from the day they first paid; churned ones ended."""
        paid = [day for name, day in zip(plan.path, plan.tier_dates) if name != "Trial"]
        plan.contract_start = plan.renewal_date = None
        if paid and plan.path[-1] != "Trial":
            plan.contract_start = paid[0]
            if plan.active:
                years = 1
                while anniversary(plan.contract_start, years) <= self.today:
                    years += 1
                plan.renewal_date = anniversary(plan.contract_start, years)
            else:
                plan.renewal_date = plan.stages[-1][1]
        plan.priority = self.priority_for(plan)

    def priority_for(self, plan: AccountPlan) -> str:
        renewing_soon = plan.renewal_date is not None and (plan.renewal_date - self.today).days <= 60
        if plan.stage == "At-Risk":
            return Priority.URGENT if self.rng.random() < 0.4 else Priority.HIGH
        if plan.path[-1] == "Enterprise" or renewing_soon:
            return Priority.HIGH
        if plan.path[-1] == "Trial":
            return Priority.LOW
        return self.rng.choices([Priority.LOW, Priority.MEDIUM, Priority.HIGH], weights=[15, 75, 10])[0]

    def plan_children(self, parents: list[AccountPlan], sizes: list[int]) -> list[AccountPlan]:
        """Sites of a group: each its own contract, listed under the group's account."""
        children = []
        for parent, size in zip(parents, sizes):
            group = parent.company
            for site in self.rng.sample(SITES, size):
                started = self.between(parent.started, self.today - dt.timedelta(days=30))
                site_company = Company(
                    name=f"{group.brand} — {site}", brand=group.brand, domain=f"{slugify(site.split()[0])}.{group.domain}",
                    sector=group.sector, use_case=group.use_case,
                )
                child = self.plan(tier=self.rng.choice(["Starter", "Premium"]), started=started, company=site_company)
                child.parent = parent
                children.append(child)
        return children


def anniversary(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
