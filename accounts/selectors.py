"""Reads of the book of business: the portfolio, an account's 360, a person's tasks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from accounts.models import (
    PRIORITY_RANK,
    Account,
    AccountExternalId,
    Activity,
    Contact,
    Handoff,
    LifecycleStage,
    Task,
    TaskStatus,
    Tier,
    TierChange,
)
from cs_platform.models import Membership, Role

# Columns people may sort the portfolio by, and the column each means.
PORTFOLIO_SORTS = {
    "name": "name",
    "tier": "tier__position",
    "stage": "stage__position",
    "arr": "arr",
    "renewal": "renewal_date",
    "owner": "owner__full_name",
    "last_contact": "last_contacted_at",
    "last_seen": "last_seen_at",
    "next_action": "next_action_due",
    "priority": "priority_rank",
}


def _ordering(sort: str, descending: bool) -> list:
    column = F(PORTFOLIO_SORTS.get(sort, "name"))
    # Empty values (no renewal date, never contacted) sort last either way.
    primary = column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)
    return [primary, "-name" if descending else "name", "-id" if descending else "id"]


@dataclass
class PortfolioFilters:
    owner: str = ""  # a user id, "me", "none" (unassigned) or "" (everyone)
    tier: str = ""  # tier public id
    stage: str = ""  # stage public id
    renewal_within_days: int | None = None
    priority: str = ""
    status: str = "active"
    q: str = ""
    sort: str = "name"
    descending: bool = False
    me_id: int | None = field(default=None, repr=False)


# Open tasks in the order they come up: dated ones soonest first, undated last.
# The first of an account's is its "next action" (index task_open_by_account).
TASK_ORDER = (F("due_date").asc(nulls_last=True), "id")


def _open_tasks() -> QuerySet[Task]:
    return Task.objects.filter(account=OuterRef("pk"), status=TaskStatus.OPEN).order_by(*TASK_ORDER)


def portfolio(filters: PortfolioFilters) -> QuerySet[Account]:
    """The accounts a portfolio page lists: one query, whatever the page size.

    Each row carries its next action (the earliest open task) and when the product
    last saw it in use (``last_seen_at``, from its usage metrics: a LEFT JOIN on the
    one-to-one, None when none) as annotations, so neither the page nor the CSV
    export asks per account.
    """
    accounts = Account.objects.select_related("tier", "stage", "owner").annotate(
        last_seen_at=F("usage__last_seen_at"),
        next_action_title=Subquery(_open_tasks().values("title")[:1]),
        next_action_due=Subquery(_open_tasks().values("due_date")[:1]),
        priority_rank=Case(*[When(priority=p, then=Value(rank)) for p, rank in PRIORITY_RANK.items()], output_field=IntegerField()),
    )
    if filters.status:
        accounts = accounts.filter(status=filters.status)
    if filters.owner == "me" and filters.me_id:
        accounts = accounts.filter(owner_id=filters.me_id)
    elif filters.owner == "none":
        accounts = accounts.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        accounts = accounts.filter(owner_id=int(filters.owner))
    if filters.tier:
        accounts = accounts.filter(tier__public_id=filters.tier)
    if filters.stage:
        accounts = accounts.filter(stage__public_id=filters.stage)
    if filters.priority:
        accounts = accounts.filter(priority=filters.priority)
    if filters.renewal_within_days is not None:
        today = timezone.localdate()
        accounts = accounts.filter(renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=filters.renewal_within_days))
    if filters.q:
        term = filters.q.strip()
        # EXISTS rather than a join: no duplicate rows, so no DISTINCT over the whole book.
        by_external_id = AccountExternalId.objects.filter(account=OuterRef("pk"), external_id=term)
        accounts = accounts.filter(Q(name__icontains=term) | Q(domains__icontains=term) | Exists(by_external_id))
    return accounts.order_by(*_ordering(filters.sort, filters.descending))


def account_for_360(public_id: str) -> Account:
    return Account.objects.select_related("tier", "stage", "owner", "ae", "parent").get(public_id=public_id)


def timeline(account: Account) -> QuerySet[Activity]:
    return Activity.objects.filter(account=account).select_related("author", "contact").order_by("-occurred_at", "-id")


def open_tasks(account: Account) -> QuerySet[Task]:
    return Task.objects.filter(account=account, status=TaskStatus.OPEN).select_related("owner").order_by(*TASK_ORDER)


def next_action(account: Account) -> Task | None:
    return open_tasks(account).first()


def tier_history(account: Account) -> QuerySet[TierChange]:
    return TierChange.objects.filter(account=account).select_related("from_tier", "to_tier", "actor")


def handoffs_of(account: Account) -> QuerySet[Handoff]:
    return Handoff.objects.filter(account=account).select_related("ae", "csm", "champion", "sponsor", "tier")


@dataclass
class TaskBuckets:
    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    undated: list[Task]


def tasks_for(user, *, limit: int = 200) -> TaskBuckets:
    """A person's open tasks: overdue, due today, upcoming, and those with no date."""
    today = timezone.localdate()
    tasks = list(
        Task.objects.filter(owner=user, status=TaskStatus.OPEN)
        .select_related("account")
        .order_by(*TASK_ORDER)[:limit]
    )
    return TaskBuckets(
        overdue=[t for t in tasks if t.due_date and t.due_date < today],
        today=[t for t in tasks if t.due_date == today],
        upcoming=[t for t in tasks if t.due_date and t.due_date > today],
        undated=[t for t in tasks if t.due_date is None],
    )


def tiers() -> QuerySet[Tier]:
    return Tier.objects.order_by("position", "name")


def tiers_with_coverage() -> QuerySet[Tier]:
    return tiers().prefetch_related("csms")


def stages() -> QuerySet[LifecycleStage]:
    return LifecycleStage.objects.order_by("position", "name")


def account_owners() -> QuerySet[Membership]:
    """The people accounts can be assigned to, for the portfolio's CSM filter."""
    return (
        Membership.objects.filter(role__in=[Role.CSM, Role.MANAGER, Role.ADMIN])
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


def contacts_of(account: Account) -> QuerySet[Contact]:
    """Current contacts first, then those who left."""
    return Contact.objects.filter(account=account).order_by(F("left_at").asc(nulls_first=True), "name")


@dataclass
class AccountSummary:
    """Seed 002's output card for one account, field by field."""

    customer: str
    tier: str
    health_score: str
    stage: str
    last_contact: str
    next_action: str
    priority: str
    notes: str

    def lines(self) -> list[str]:
        return [
            f"CUSTOMER: {self.customer}",
            f"TIER: {self.tier}",
            f"HEALTH_SCORE: {self.health_score}",
            f"STAGE: {self.stage}",
            f"LAST_CONTACT: {self.last_contact}",
            f"NEXT_ACTION: {self.next_action}",
            f"PRIORITY: {self.priority}",
            f"NOTES: {self.notes}",
        ]


# Until the health engine lands, no account has a score; say so rather than invent one.
HEALTH_NOT_SCORED = "Not scored yet"


def account_summary(account: Account) -> AccountSummary:
    task = next_action(account)
    if task is None:
        next_text = "None planned"
    else:
        next_text = task.title + (f" (due {task.due_date.isoformat()})" if task.due_date else "")
    stage = account.stage.name if account.stage else "—"
    if account.stage and account.stage_entered_at:
        stage += f" (since {timezone.localdate(account.stage_entered_at).isoformat()})"
    return AccountSummary(
        customer=account.name,
        tier=account.tier.name if account.tier else "—",
        health_score=HEALTH_NOT_SCORED,
        stage=stage,
        last_contact=timezone.localdate(account.last_contacted_at).isoformat() if account.last_contacted_at else "Never",
        next_action=next_text,
        priority=account.get_priority_display(),
        notes=" ".join(account.notes.split()) or "—",
    )


def child_accounts(account: Account) -> QuerySet[Account]:
    return Account.objects.filter(parent=account).select_related("tier", "stage").order_by("name")


def rolled_up_arr(account: Account) -> int:
    """The account's ARR plus every descendant's (hierarchies roll up)."""
    from django.db import connection

    # One recursive query, whatever the depth; led by organization like every tenant read.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE tree(id, arr) AS (
                SELECT id, arr FROM accounts_account WHERE organization_id = %s AND id = %s
                UNION  -- not ALL: a cycle, should one slip in, ends instead of looping
                SELECT child.id, child.arr FROM accounts_account child
                JOIN tree ON child.parent_id = tree.id
                WHERE child.organization_id = %s
            )
            SELECT COALESCE(SUM(arr), 0) FROM tree
            """,
            [account.organization_id, account.pk, account.organization_id],
        )
        return int(cursor.fetchone()[0])


def handoff_list() -> QuerySet[Handoff]:
    return Handoff.objects.select_related("account", "ae", "csm", "champion").order_by("-commit_date", "-id")


def handoff_quality(*, since: dt.date) -> tuple[int | None, int]:
    """Average completeness (percent) of the handoffs committed since ``since``, and how many there were."""
    recent = list(Handoff.objects.filter(commit_date__gte=since).only("customer_goals", "success_criteria", "champion"))
    if not recent:
        return None, 0
    return round(sum(handoff.completeness_percent for handoff in recent) / len(recent)), len(recent)


@dataclass
class CohortMove:
    from_tier: str
    to_tier: str
    moves: int
    direction: str  # "up", "down", "new" or "out"


def cohort_migration(*, start: dt.date, end: dt.date) -> list[CohortMove]:
    """How many accounts moved between which tiers in [start, end): seed 001's migration down the cohorts."""
    rows = (
        TierChange.objects.filter(changed_at__date__gte=start, changed_at__date__lt=end)
        .exclude(from_tier=None, to_tier=None)
        .values("from_tier__name", "from_tier__position", "to_tier__name", "to_tier__position")
        .annotate(moves=Count("id"))
        .order_by("from_tier__position", "to_tier__position")
    )
    moves = []
    for row in rows:
        if row["from_tier__name"] is None:
            direction = "new"
        elif row["to_tier__name"] is None:
            direction = "out"
        else:
            direction = "up" if row["to_tier__position"] > row["from_tier__position"] else "down"
        moves.append(
            CohortMove(
                from_tier=row["from_tier__name"] or "(new)",
                to_tier=row["to_tier__name"] or "(no tier)",
                moves=row["moves"],
                direction=direction,
            )
        )
    return moves
