"""Demo data for the book of business: FlowFuse's cohorts and ~300 accounts with 18 months of history.

FlowFuse (seed 001) sells Node-RED to farming/growing/cultivation and manufacturing, so the
accounts are growers, dairies, plants and utilities. Its cohorts run Trial → Starter →
Premium → Enterprise and are covered as seed 002 segments them: automated, pooled,
dedicated. Writes go through the services, so the demo carries the audit entries, history
rows and timeline events real use leaves behind; only the timeline's bulk (thousands of
notes, calls and e-mails) is bulk-created, with "last contact" recomputed from it.

Services stamp what they write "now". Demo history is back-dated afterwards (tier and
stage moves, a champion leaving, completed tasks), so the demo looks like a year and a
half of work rather than one afternoon.

The cohorts are ``demo.cohorts``'s, the words ``demo.vocabulary``'s.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Callable

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts import services
from accounts.models import (
    CONTACT_KINDS,
    Account,
    Activity,
    ActivityKind,
    Contact,
    ContactRole,
    Priority,
    StageChange,
    Task,
    TaskSource,
    TierChange,
)
from demo.people import DemoContext
from demo.plans import AccountPlan, Planner, anniversary
from cs_platform.models import Organization
from demo.cohorts import ADMIN, AE, DEMO_COVERAGE, MANAGER, PAID_TIERS, TIER_SPECS, TIERS, arr_for, tiers_create
from demo.vocabulary import KIND_WEIGHTS, TITLES, TRIAL_NURTURE, person, timeline_entry

ACCOUNT_COUNT = 300
# The fewest accounts that still hold every cohort, stage, parent and conversion (``--scale``).
MIN_ACCOUNTS = 150
HANDOFF_COUNT = 25
CONVERSIONS = 7  # of the handoffs, trials turning into paying customers; the rest are new logos
PARENTS = 3
CHAMPIONS_LEFT = 6
UPGRADE_REASONS = {
    "Starter": ["Converted from trial: two instances in production", "Trial ended; card added for the Starter plan"],
    "Premium": ["Team grew to six people collaborating on flows", "Needed staging pipelines and team roles"],
    "Enterprise": ["Rolling out to every site; needs SSO and high availability", "Signed a three-year enterprise agreement"],
}
DOWNGRADE_REASON = "Downgraded at renewal: consolidated to one site"
# What good (and less good) AE handoffs look like; seed 000 measures handoff quality.
HANDOFF_PROFILES = [  # (weight, has goals, has success criteria, has champion, has sponsor)
    (50, True, True, True, True),
    (20, True, False, True, False),
    (15, True, True, False, True),
    (10, True, False, False, False),
    (5, False, False, False, False),
]
TASK_TITLES = [
    "Check in on {use_case}", "Share dashboard templates", "Follow up on device agent rollout",
    "Confirm the executive sponsor", "Review instance growth", "Send the release notes walkthrough",
    "Schedule a training session", "Ask for a case study",
]


class _Book(Planner):
    """Writes the demo organization's book, phase by phase, from its plans (``Planner``)."""

    def __init__(self, ctx: DemoContext) -> None:
        super().__init__(rng=ctx.rng, today=timezone.localdate(), people=ctx.people)
        self.organization = ctx.organization
        self.now = timezone.now()
        self.tiers = tiers_create(
            organization=self.organization, actor=self.people[ADMIN],
            coverage={name: [self.people[email] for email in emails] for name, emails in DEMO_COVERAGE.items()},
        )
        self.stages = {stage.name: stage for stage in services.stages_create_defaults(organization=self.organization)}
        self.hubspot_ids = iter(self.rng.sample(range(4_000_000, 9_999_999), account_count(ctx.scale) + HANDOFF_COUNT))

    # -- helpers

    def moment(self, day: dt.date) -> dt.datetime:
        """A working-hours moment on ``day`` in the organization's time zone, never in the future."""
        when = timezone.make_aware(dt.datetime.combine(day, dt.time(self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45)))))
        return min(when, self.now)

    def backdate(self, account: Account, *, since: dt.datetime, to: dt.datetime) -> None:
        """Move the history a service just wrote (stamped ``since`` or later) to ``to``.

        Demo history is back-dated: services record "now", the demo needs 18 months.
        """
        TierChange.objects.filter(account=account, changed_at__gte=since).update(changed_at=to)
        StageChange.objects.filter(account=account, entered_at__gte=since).update(entered_at=to)
        Activity.objects.filter(account=account, kind=ActivityKind.SYSTEM, occurred_at__gte=since).update(occurred_at=to)
        Account.objects.filter(pk=account.pk, stage_entered_at__gte=since).update(stage_entered_at=to)

    # -- writing

    def create(self, plan: AccountPlan) -> Account:
        """The account as HubSpot sync would have created it, then its moves between tiers and stages."""
        first_stage = self.stages[plan.stages[0][0]]
        since = timezone.now()
        account = services.account_create(
            organization=self.organization, actor=None, name=plan.company.name, tier=self.tiers[plan.path[0]],
            stage=first_stage, external_ids={"hubspot": str(next(self.hubspot_ids))}, domains=[plan.company.domain],
            owner=plan.owner, ae=plan.ae, arr=plan.arr, contract_start=plan.contract_start,
            renewal_date=plan.renewal_date, priority=plan.priority, parent=plan.parent.account if plan.parent else None,
            notes=f"Uses FlowFuse for {plan.company.use_case}." if plan.tier.name != "Trial" else "",
        )
        started = self.moment(plan.started)
        self.backdate(account, since=since, to=started)
        Account.objects.filter(pk=account.pk).update(created_at=started)
        mover = plan.owner or self.people[MANAGER]
        for previous, name, day in zip(plan.path, plan.path[1:], plan.tier_dates[1:]):
            reason = DOWNGRADE_REASON if TIERS.index(TIER_SPECS[name]) < TIERS.index(TIER_SPECS[previous]) else self.rng.choice(UPGRADE_REASONS[name])
            self.move(account, day, services.account_change_tier, actor=mover, tier=self.tiers[name], reason=reason)
        for name, day in plan.stages[1:]:
            self.move(account, day, services.account_change_stage, actor=mover, stage=self.stages[name])
        account.refresh_from_db()  # later services (a handoff) save the whole row: keep the back-dated one
        plan.account = account
        return account

    def move(self, account: Account, day: dt.date, change: Callable[..., Account], **kwargs: Any) -> None:
        """A tier or stage change through its service, dated ``day``."""
        since = timezone.now()
        change(account=account, **kwargs)
        self.backdate(account, since=since, to=self.moment(day))

    def add_contacts(self, plan: AccountPlan, *, key_roles: bool) -> None:
        """The people at the account: a champion and, higher up the cohorts, an executive sponsor."""
        rng, spec = self.rng, plan.tier
        roles: list[str] = []
        if key_roles:
            roles.append(ContactRole.CHAMPION if spec.name != "Trial" or rng.random() < 0.6 else ContactRole.USER)
            if rng.random() < {"Premium": 0.85, "Enterprise": 0.95, "Starter": 0.3}.get(spec.name, 0):
                roles.append(ContactRole.EXECUTIVE_SPONSOR)
        wanted = rng.randint(*spec.contacts) - len(plan.contacts)
        while len(roles) < wanted:
            roles.append(rng.choices([ContactRole.ADMIN, ContactRole.USER, ContactRole.BILLING], weights=[3, 5, 2])[0])
        for role in roles:
            name, email = person(rng, plan.company.domain)
            plan.contacts.append(
                services.contact_save(
                    account=plan.account, actor=plan.owner, name=name, email=email, role=role,
                    title=rng.choice(TITLES[role]), phone=f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                )
            )

    def log_handoff(self, plan: AccountPlan, *, commit: dt.date, existing: Account | None = None) -> None:
        """The AE commits a deal (seed 001): a new logo, or a trial turning into a paying customer."""
        rng, tier = self.rng, plan.path[-1]
        _, goals, criteria, has_champion, has_sponsor = rng.choices(HANDOFF_PROFILES, weights=[p[0] for p in HANDOFF_PROFILES])[0]
        use_case = plan.company.use_case

        def contact(role: str) -> dict[str, str]:
            known = next((c for c in plan.contacts if c.role == role), None)
            if known is not None:  # the trial's champion is usually the one who made the deal happen
                return {"name": known.name, "email": known.email, "title": known.title}
            name, email = person(rng, plan.company.domain)
            return {"name": name, "email": email, "title": rng.choice(TITLES[role])}

        expected_close = commit + dt.timedelta(days=rng.randint(7, 30))
        since = timezone.now()
        handoff = services.handoff_log(
            organization=self.organization, ae=self.people[AE], account_name=plan.company.name, account=existing,
            tier=self.tiers[tier], arr=plan.arr, commit_date=commit, expected_close_date=expected_close,
            customer_goals=f"Get {use_case} into production and retire the spreadsheets around it." if goals else "",
            success_criteria=f"{rng.randint(2, 6)} sites on FlowFuse within 90 days; {use_case} live at the first." if criteria else "",
            use_case=use_case.capitalize() if goals else "",
            risks=rng.choice(["", "IT security review still open.", "Competing MES vendor in the account."]),
            champion=contact(ContactRole.CHAMPION) if has_champion else None,
            sponsor=contact(ContactRole.EXECUTIVE_SPONSOR) if has_sponsor else None,
            domain=plan.company.domain,
            notify=False,  # history, not news: the CSMs were told long ago
        )
        account = handoff.account
        commit_at = self.moment(commit)
        self.backdate(account, since=since, to=commit_at)
        if existing is None:
            Account.objects.filter(pk=account.pk).update(created_at=commit_at)
            services.account_set_external_id(account=account, source="hubspot", external_id=str(next(self.hubspot_ids)))
        else:
            plan.tier_dates.append(commit)
            plan.stages.append(("Onboarding", commit))
        # account_update saves every field: start from the back-dated row, not the stale instance.
        account.refresh_from_db()
        plan.account, plan.owner = account, handoff.csm
        plan.contacts = list(account.contacts.all())
        # The deal closes at the expected date; the contract runs a year from there.
        if expected_close <= self.today:
            plan.contract_start, plan.renewal_date = expected_close, anniversary(expected_close, 1)
        plan.priority = Priority.HIGH if tier == "Enterprise" else Priority.MEDIUM
        services.account_update(
            account=account, actor=self.people[AE], contract_start=plan.contract_start,
            renewal_date=plan.renewal_date, priority=plan.priority,
        )
        # The kickoff is due two days after the commit, not after the day the demo was seeded.
        kickoff = Task.objects.get(account=account, source=TaskSource.HANDOFF, created_at__gte=since)
        Task.objects.filter(pk=kickoff.pk).update(due_date=commit + dt.timedelta(days=2), created_at=commit_at)
        if (self.today - commit).days > 21:
            self.complete(kickoff, on=commit + dt.timedelta(days=rng.randint(1, 5)))
        if (self.today - commit).days > 45:
            adoption = commit + dt.timedelta(days=rng.randint(30, 45))
            self.move(account, adoption, services.account_change_stage, actor=plan.owner, stage=self.stages["Adoption"])
            plan.stages.append(("Adoption", adoption))

    def complete(self, task: Task, *, on: dt.date) -> None:
        services.task_complete(task=task, actor=task.owner)
        Task.objects.filter(pk=task.pk).update(completed_at=self.moment(min(on, self.today)))  # back-dated demo history

    def champion_leaves(self, plan: AccountPlan) -> None:
        """A departed champion is an early-warning sign (seed 002); a few found a successor."""
        champion = next(c for c in plan.contacts if c.role == ContactRole.CHAMPION)
        left = self.today - dt.timedelta(days=self.rng.randint(3, 40))
        since = timezone.now()
        services.contact_mark_left(contact=champion, actor=plan.owner)
        left_at = self.moment(left)
        self.backdate(plan.account, since=since, to=left_at)
        Contact.objects.filter(pk=champion.pk).update(left_at=left_at)
        champion.left_at = left_at
        task = Task.objects.get(account=plan.account, created_at__gte=since)
        Task.objects.filter(pk=task.pk).update(due_date=left + dt.timedelta(days=7))
        if (self.today - left).days > 20 and self.rng.random() < 0.5:
            name, email = person(self.rng, plan.company.domain)
            plan.contacts.append(
                services.contact_save(account=plan.account, actor=plan.owner, name=name, email=email,
                                      role=ContactRole.CHAMPION, title=self.rng.choice(TITLES[ContactRole.CHAMPION]))
            )
            self.complete(task, on=left + dt.timedelta(days=self.rng.randint(7, 18)))

    def timeline(self, plan: AccountPlan) -> list[Activity]:
        """Notes, calls, meetings and e-mails since the account started: more for higher tiers."""
        rng, spec = self.rng, plan.tier
        started, age = plan.started, (self.today - plan.started).days
        count = round(rng.randint(*spec.activities) * min(1.5, max(age, 30) / 365))
        # Contact stops when an account goes quiet before turning at risk, and at churn.
        quiet = {"At-Risk": dt.timedelta(days=rng.randint(20, 40)), "Churned": dt.timedelta(0)}
        end = plan.stages[-1][1] - quiet[plan.stage] if plan.stage in quiet else self.today
        end = max(end, started)
        author = plan.owner or plan.ae
        entries = []
        for _ in range(count):
            automated = spec.name == "Trial" and (plan.owner is None or rng.random() < 0.7)
            if automated:
                kind, (subject, body) = ActivityKind.EMAIL_SENT, rng.choice(TRIAL_NURTURE)
            else:
                kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
                subject, body = timeline_entry(rng, kind, plan.company.use_case)
            when = self.moment(self.between(started, end))
            # Whom it was with: someone still at the customer then (nurture mail goes to nobody in particular).
            people = [c for c in plan.contacts if c.left_at is None or c.left_at > when]
            contact = rng.choice(people) if kind in CONTACT_KINDS and people and not automated else None
            entries.append(
                Activity(
                    organization=self.organization, account=plan.account, contact=contact, kind=kind, subject=subject,
                    body=body, author=None if automated or kind == ActivityKind.EMAIL_RECEIVED else author, occurred_at=when,
                )
            )
        return entries

    def tasks(self, plan: AccountPlan) -> None:
        """Open work for the owner (some overdue, some today, most upcoming) and some already done."""
        rng, today, account = self.rng, self.today, plan.account
        titles = [rng.choice(TASK_TITLES).format(use_case=plan.company.use_case) for _ in range(rng.randint(*plan.tier.open_tasks))]
        if plan.renewal_date and (plan.renewal_date - today).days <= 60:
            titles.append(f"Renewal prep: ROI summary for {account.name}")
        if plan.stage == "At-Risk":
            titles.append("Save plan: call the executive sponsor")
        for title in titles:
            bucket = rng.random()
            due = (
                today - dt.timedelta(days=rng.randint(1, 21)) if bucket < 0.15
                else today if bucket < 0.25
                else today + dt.timedelta(days=rng.randint(1, 30)) if bucket < 0.92
                else None
            )
            priority = Priority.HIGH if title.startswith(("Renewal", "Save")) else rng.choice([Priority.LOW, Priority.MEDIUM, Priority.MEDIUM])
            services.task_create(account=account, actor=plan.owner, title=title, due_date=due, priority=priority)
        for _ in range(rng.randint(0, 3 if plan.tier.name in ("Premium", "Enterprise") else 1)):
            due = self.between(plan.started, today - dt.timedelta(days=1))
            task = services.task_create(
                account=account, actor=plan.owner, title=rng.choice(TASK_TITLES).format(use_case=plan.company.use_case), due_date=due,
            )
            self.complete(task, on=due + dt.timedelta(days=rng.randint(-3, 2)))


def account_count(scale: float) -> int:
    """How many accounts the book holds at ``scale`` (1: the full demo)."""
    return max(MIN_ACCOUNTS, round(ACCOUNT_COUNT * scale))


def seed_accounts(ctx: DemoContext) -> None:
    """FlowFuse's cohorts and book of business: accounts, people, timeline, tasks, handoffs."""
    # Dates are the organization's: "due today" must mean today in Amsterdam.
    with timezone.override(ctx.organization.time_zone):
        _seed(ctx)


def _seed(ctx: DemoContext) -> None:
    book, rng = _Book(ctx), ctx.rng
    new_logos = HANDOFF_COUNT - CONVERSIONS
    sizes = [rng.randint(2, 4) for _ in range(PARENTS)]
    plans = [book.plan(tier=tier) for tier in _tier_quotas(account_count(ctx.scale) - new_logos - sum(sizes), rng)]
    parents = rng.sample([p for p in plans if p.path[-1] == "Enterprise" and p.active and p.path == ["Enterprise"]], PARENTS)
    rng.shuffle(parents)
    for plan in plans:
        book.create(plan)
        book.add_contacts(plan, key_roles=True)
    children = book.plan_children(parents, sizes)
    for plan in children:
        book.create(plan)
        book.add_contacts(plan, key_roles=True)
    plans += children
    ctx.log(f"{len(plans)} accounts with {sum(len(p.contacts) for p in plans)} contacts")

    trials = [p for p in plans if p.path == ["Trial"] and p.active and (book.today - p.stages[-1][1]).days > 10]
    for plan in rng.sample(trials, CONVERSIONS):
        commit = book.between(plan.stages[-1][1] + dt.timedelta(days=1), book.today - dt.timedelta(days=1))
        plan.path.append(rng.choice(["Starter", "Starter", "Premium"]))
        plan.arr, plan.ae = arr_for(plan.tier, rng), ctx.people[AE]
        book.log_handoff(plan, commit=commit, existing=plan.account)
    for _ in range(new_logos):
        commit = book.today - dt.timedelta(days=rng.randint(1, 120))
        tier = rng.choices(PAID_TIERS, weights=[50, 38, 12])[0]
        plan = AccountPlan(
            company=book.new_company(), path=[tier], tier_dates=[commit], stages=[("Onboarding", commit)], owner=None,
            ae=ctx.people[AE], arr=arr_for(TIER_SPECS[tier], rng), from_handoff=True,
        )
        book.log_handoff(plan, commit=commit)
        book.add_contacts(plan, key_roles=False)  # the AE named (or failed to name) the key people
        plans.append(plan)
    ctx.log(f"{HANDOFF_COUNT} handoffs logged by {ctx.people[AE]}")

    leavers = [
        p for p in plans
        if p.active and p.owner and not p.from_handoff and p.path[-1] != "Trial"
        and any(c.role == ContactRole.CHAMPION for c in p.contacts)
    ]
    for plan in rng.sample(leavers, CHAMPIONS_LEFT):
        book.champion_leaves(plan)

    activities = [entry for plan in plans for entry in book.timeline(plan)]
    # Thousands of entries: bulk, not activity_log, so "last contact" is recomputed below.
    Activity.objects.bulk_create(activities, batch_size=1000)
    _sync_last_contact(ctx.organization)
    ctx.log(f"{len(activities)} timeline entries")

    for plan in plans:
        if plan.active and plan.owner is not None:
            book.tasks(plan)
    ctx.log(f"{Task.objects.filter(organization=ctx.organization).count()} tasks")
    ctx.data["tiers"] = book.tiers
    ctx.data["stages"] = book.stages
    ctx.data["accounts"] = list(Account.objects.filter(organization=ctx.organization).order_by("id"))


def _tier_quotas(count: int, rng: random.Random) -> list[str]:
    """Each cohort's share of ``count`` exactly, shuffled: a stable skew whatever the seed."""
    tiers = [spec.name for spec in TIERS for _ in range(round(spec.share * count))]
    tiers = (tiers + [TIERS[0].name] * count)[:count]
    rng.shuffle(tiers)
    return tiers


def _sync_last_contact(organization: Organization) -> None:
    """What activity_log keeps current one entry at a time: the newest contact-kind entry."""
    for model, link in ((Account, "account"), (Contact, "contact")):
        newest = (
            Activity.objects.filter(**{link: OuterRef("pk")}, kind__in=CONTACT_KINDS)
            .order_by("-occurred_at").values("occurred_at")[:1]
        )
        model.objects.filter(organization=organization).update(last_contacted_at=Subquery(newest))
