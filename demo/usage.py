"""Demo product usage: 90 days of FlowFuse's Segment events for the demo book of business.

FlowFuse's product sends ``identify``, ``group`` and ``track`` calls (seed 002's usage
measures: logins, feature adoption, API calls, days since last use). The seeder sends
them through ``ingest_segment``, the path the API takes, in batches, then rolls them up
at once so the pages show usage the moment the demo is ready.

Accounts follow a trajectory that matches their lifecycle stage: most are healthy
(steady or growing), At-Risk ones mostly decline or go quiet, onboarding ones start
mid-window and ramp up, churned ones stop. A few product groups are left unknown on
purpose (a trial team that never became an account, a customer's staging team, a user
with no team), so the "Unmatched usage" page has something to show.

At a smaller ``DemoContext.scale`` (``seed_demo --scale``) each account has fewer people and API calls.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field

from django.db import connection
from django.utils.text import slugify

from accounts import services as account_services
from demo.vocabulary import FIRST_NAMES, LAST_NAMES
from accounts.models import Account, AccountStatus, Contact
from demo.people import DemoContext
from cs_platform.models import Organization
from usage import services
from usage.ingest.store import ingest_segment
from usage.models import EventDefinition, EventRole
from usage.selectors import PRODUCT_SOURCE

DAYS = 90
BATCH_SIZE = 500
LOGIN_EVENT = "Signed In"
API_CALL_EVENT = "API Call"


@dataclass(frozen=True)
class Feature:
    event_name: str
    label: str
    description: str
    weight: float  # how often a user who has adopted it does it, relative to the others
    commonness: float  # how likely an account is to have adopted it at all


# FlowFuse's feature list, most commonly adopted first: (event, label, description, weight, commonness).
FEATURES = [
    Feature("Flow Deployed", "Deploy flows", "A Node-RED flow deployed to an instance or a device group.", 10, 100),
    Feature(
        "Snapshot Created", "Snapshots", "A point-in-time snapshot of an instance, for rollback or promotion.", 2.5, 8,
    ),
    Feature("Dashboard Created", "Dashboards", "A FlowFuse Dashboard page built for operators.", 2, 7),
    Feature("Team Member Invited", "Team collaboration", "Someone invited a colleague into the team.", 0.4, 6),
    Feature(
        "Device Agent Connected", "Device agent", "An edge device running the FlowFuse device agent came online.", 3, 5,
    ),
    Feature("Blueprint Used", "Blueprints", "A new instance started from a FlowFuse blueprint.", 0.6, 4),
    Feature("MQTT Broker Used", "MQTT broker", "The team's built-in MQTT broker got a new client.", 2, 3.5),
    Feature(
        "Pipeline Created", "DevOps pipelines", "A dev → staging → production pipeline set up or changed.", 0.5, 2.5,
    ),
    Feature("Audit Log Viewed", "Audit log", "Someone reviewed the team's audit log.", 0.7, 2),
    Feature(
        "High Availability Enabled", "High availability", "An instance was switched to high availability.", 0.25, 1.2,
    ),
]



@dataclass(frozen=True)
class TierUsage:
    """How a cohort uses the product; ranges are drawn per account (actions per person-day)."""

    users: tuple[int, int]  # people using the product
    features: tuple[int, int]  # features adopted
    automates: float  # share of accounts calling the API from scripts
    api_calls: tuple[int, int]  # API calls a day, when they do
    actions: tuple[int, int]  # feature events per active person-day


TIER_USAGE = {
    "Trial": TierUsage((2, 3), (1, 3), 0.05, (1, 3), (0, 2)),
    "Starter": TierUsage((2, 4), (2, 5), 0.25, (1, 4), (0, 3)),
    "Premium": TierUsage((4, 9), (4, 8), 0.5, (2, 8), (1, 3)),
    "Enterprise": TierUsage((12, 25), (7, 10), 0.85, (6, 16), (1, 4)),
}

TITLES = [
    "Automation Engineer", "Controls Engineer", "OT Engineer", "Process Engineer", "Head Grower", "Data Analyst",
    "Maintenance Technician", "Production Supervisor", "IT Administrator", "Quality Engineer", "Plant Manager",
    "Node-RED Developer", "Greenhouse Systems Manager", "Industry 4.0 Lead",
]
API_PATHS = [
    ("GET", "/api/v1/teams/{team}/projects"), ("GET", "/api/v1/projects/{team}/status"),
    ("POST", "/api/v1/projects/{team}/actions/restart"), ("GET", "/api/v1/devices"),
    ("POST", "/api/v1/projects/{team}/snapshots"), ("PUT", "/api/v1/projects/{team}/settings"),
]


# --- Trajectories ----------------------------------------------------------------------------

STEADY, GROWING, DECLINING, DORMANT, ONBOARDING, CHURNED = (
    "steady", "growing", "declining", "dormant", "onboarding", "churned",
)


@dataclass
class Trajectory:
    kind: str
    start: int = DAYS - 1  # days ago the account first used the product in the window
    stop: int = -1  # days ago of the last possible use (-1: still in use today)
    decline_from: int = 0  # days ago the decline started
    floor: float = 0.2  # what is left of the usage today when declining

    def factor(self, ago: int) -> float:
        """How much of the account's normal usage happens on the day ``ago`` days back."""
        if ago > self.start or ago <= self.stop:
            return 0.0
        if self.kind == GROWING:
            return 0.55 + 0.6 * (DAYS - 1 - ago) / (DAYS - 1)
        if self.kind == ONBOARDING:
            return min(1.0, 0.15 + 0.85 * (self.start - ago) / 21)  # three weeks to full use
        if self.kind == DECLINING and ago < self.decline_from:
            return self.floor + (1 - self.floor) * ago / self.decline_from
        if self.kind in (DORMANT, CHURNED) and ago - self.stop < 21:
            return 0.5 + 0.5 * (ago - self.stop) / 21  # tailing off before they stopped
        return 1.0


def trajectory_for(account: Account, today: dt.date, rng: random.Random) -> Trajectory | None:
    """The shape of an account's usage; None for one that left before the window."""
    stage = account.stage.name if account.stage else ""
    entered = account.stage_entered_at.date() if account.stage_entered_at else today - dt.timedelta(days=365)
    entered_ago = (today - entered).days
    if account.status == AccountStatus.CHURNED or stage == "Churned":
        if entered_ago >= DAYS - 7:
            return None
        return Trajectory(CHURNED, stop=max(entered_ago, 25))
    if stage == "Onboarding":
        start = entered_ago if 7 <= entered_ago < DAYS - 5 else rng.randint(20, 70)
        return Trajectory(ONBOARDING, start=start)
    draw = rng.random()
    if stage == "At-Risk":
        kind = DECLINING if draw < 0.6 else DORMANT
    elif stage == "Expansion":
        kind = GROWING
    else:
        kind = DECLINING if draw < 0.18 else DORMANT if draw < 0.26 else GROWING if draw < 0.55 else STEADY
    if kind == DECLINING:
        return Trajectory(DECLINING, decline_from=rng.randint(28, 42), floor=rng.uniform(0.08, 0.3))
    if kind == DORMANT:
        return Trajectory(DORMANT, stop=rng.randint(22, 35))
    return Trajectory(kind)


# --- People and messages -----------------------------------------------------------------------


@dataclass
class ProductUser:
    user_id: str
    name: str
    email: str
    title: str
    engagement: float  # chance of using the product on a normal weekday
    joined: int  # days ago they started


@dataclass
class _Sender:
    """Collects messages and sends them through ingestion in batches."""

    organization: Organization
    sent: int = 0
    stored: int = 0
    unmatched: int = 0
    pending: list[dict] = field(default_factory=list)

    def add(self, message: dict) -> None:
        self.pending.append(message)
        if len(self.pending) >= BATCH_SIZE:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        result = ingest_segment(self.organization, self.pending)
        self.sent += len(self.pending)
        self.stored += result.stored
        self.unmatched += result.unmatched
        self.pending = []


class _Usage:
    def __init__(self, ctx: DemoContext, scale: float) -> None:
        # Its own stream, drawn once from the shared one: seeders after this one get the same
        # data whatever volume of usage is generated here.
        self.rng = random.Random(ctx.rng.getrandbits(64))
        self.scale = scale
        self.now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.today = self.now.date()
        self.sender = _Sender(ctx.organization)
        self.tracks: list[dict] = []  # sent after every identity, so tracks find their people
        self.sequence = 0
        self.taken_emails = set(Contact.objects.values_list("email", flat=True))

    # Message ids are deterministic: the demo re-seeds to the same messages.
    def message_id(self) -> str:
        self.sequence += 1
        return f"demo-{self.sequence:07d}"

    def moment(self, ago: int, hour: float) -> str:
        """An ISO timestamp ``ago`` days back at ``hour`` (UTC), never in the future."""
        day = self.today - dt.timedelta(days=ago)
        moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(seconds=int(hour * 3600))
        if moment >= self.now:  # later today: pulled into the hour before now (no draw, to stay repeatable)
            moment = self.now - dt.timedelta(seconds=60 + int(hour * 3600) % 3540)
        return moment.isoformat()

    def team_id(self) -> str:
        return f"team_{self.rng.getrandbits(40):010x}"

    def person(self, domain: str, joined: int, engagement: float) -> ProductUser:
        for _ in range(20):
            first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES)
            email = f"{slugify(first)}.{slugify(last).replace('-', '')}@{domain}"
            if email not in self.taken_emails:
                break
            email = f"{slugify(first)}.{slugify(last).replace('-', '')}{self.rng.randint(2, 99)}@{domain}"
            if email not in self.taken_emails:
                break
        self.taken_emails.add(email)
        return ProductUser(
            user_id=f"usr_{self.rng.getrandbits(48):012x}", name=f"{first} {last}", email=email,
            title=self.rng.choice(TITLES), engagement=engagement, joined=joined,
        )

    def introduce(self, user: ProductUser, group_id: str | None, group_traits: dict) -> None:
        """The product's ``identify`` (and ``group``) when the person first signs up."""
        hour = self.rng.uniform(7, 17)
        identify = {
            "type": "identify", "userId": user.user_id, "messageId": self.message_id(),
            "timestamp": self.moment(user.joined, hour),
            "traits": {"name": user.name, "email": user.email, "title": user.title},
        }
        if group_id:  # Segment's B2B spec: every call names the team as context.groupId
            identify["context"] = {"groupId": group_id}
        self.sender.add(identify)
        if group_id:
            self.sender.add({
                "type": "group", "userId": user.user_id, "groupId": group_id, "messageId": self.message_id(),
                "timestamp": self.moment(user.joined, hour + 0.01), "traits": group_traits,
            })

    def track(
        self, user_id: str, group_id: str | None, event: str, timestamp: str, properties: dict | None = None
    ) -> None:
        message = {
            "type": "track", "event": event, "userId": user_id, "messageId": self.message_id(), "timestamp": timestamp,
        }
        if group_id:
            message["context"] = {"groupId": group_id}
        if properties:
            message["properties"] = properties
        self.tracks.append(message)

    def workday(self, user: ProductUser, group_id: str | None, ago: int, *, shift: float, features: list[Feature],
                actions: tuple[int, int]) -> None:
        """One person's session on one day: sign in, then a few things done in the product."""
        hour = shift + self.rng.triangular(7, 18, 10)
        self.track(user.user_id, group_id, LOGIN_EVENT, self.moment(ago, hour))
        if self.rng.random() < 0.15:  # a second session in the afternoon
            self.track(user.user_id, group_id, LOGIN_EVENT, self.moment(ago, min(hour + 4, shift + 21)))
        if not features:
            return
        weights = [feature.weight for feature in features]
        for index in range(self.rng.randint(*actions)):
            feature = self.rng.choices(features, weights)[0]
            self.track(user.user_id, group_id, feature.event_name, self.moment(ago, hour + 0.05 * (index + 1)))

    def days(self, trajectory: Trajectory) -> list[tuple[int, float, bool]]:
        """(days ago, usage factor, weekend) for each day of the window the account is in use."""
        days = []
        for ago in range(min(trajectory.start, DAYS - 1), -1, -1):
            factor = trajectory.factor(ago)
            if factor > 0:
                days.append((ago, factor, (self.today - dt.timedelta(days=ago)).weekday() >= 5))
        return days

    # --- Accounts ----------------------------------------------------------------------------

    def account(self, account: Account, trajectory: Trajectory | None) -> int:
        """Give the account its product team id and, if it uses the product, its people and events."""
        group_id = self.team_id()
        account_services.account_set_external_id(account=account, source=PRODUCT_SOURCE, external_id=group_id)
        if trajectory is None:
            return 0
        tier = account.tier.name if account.tier and account.tier.name in TIER_USAGE else "Starter"
        usage = TIER_USAGE[tier]
        domain = account.domains[0] if account.domains else f"{slugify(account.name)[:40]}.example"
        shift = 6.0 if domain.endswith((".com", ".ca")) else 0.0  # North American working hours, in UTC
        features = self.adopted(usage)
        people = max(1, round(self.rng.randint(*usage.users) * self.scale))
        window_start = min(trajectory.start, DAYS - 1)
        users = []
        for index in range(people):
            if index == 0 or trajectory.kind not in (GROWING, ONBOARDING):
                joined = window_start
            else:  # teams that grow invite colleagues over time
                joined = self.rng.randint(max(trajectory.stop + 1, 0), window_start)
            users.append(self.person(domain, joined, engagement=self.rng.uniform(0.2, 0.85)))
        traits = {"name": account.name, "plan": tier.lower()}
        for user in users:
            self.introduce(user, group_id, traits)

        api_rate = self.rng.randint(*usage.api_calls) * self.scale if self.rng.random() < usage.automates else 0
        # Team owners (the first people) adopt more of the features than the rest.
        reach = [features if i < 2 else features[: max(1, len(features) // 2 + 1)] for i in range(people)]
        for ago, factor, weekend in self.days(trajectory):
            for user, their_features in zip(users, reach):
                if ago > user.joined:
                    continue
                chance = user.engagement * factor * (0.12 if weekend else 1.0)
                if self.rng.random() < chance:
                    self.workday(user, group_id, ago, shift=shift, features=their_features, actions=usage.actions)
            if api_rate:
                self.api_calls(users[0], group_id, ago, round(api_rate * factor * (0.6 if weekend else 1.0)))
        return people

    def adopted(self, usage: TierUsage) -> list[Feature]:
        """The features an account uses: weighted draws without replacement, the core one always."""
        wanted = self.rng.randint(*usage.features)
        chosen, candidates = [FEATURES[0]], list(FEATURES[1:])
        while len(chosen) < wanted and candidates:
            pick = self.rng.choices(candidates, [feature.commonness for feature in candidates])[0]
            candidates.remove(pick)
            chosen.append(pick)
        return chosen

    def api_calls(self, user: ProductUser, group_id: str, ago: int, count: int) -> None:
        """A script or CI job calling FlowFuse's API with a team token: one event per call."""
        team = group_id.removeprefix("team_")
        for _ in range(max(0, count + self.rng.randint(-2, 2))):
            method, path = self.rng.choice(API_PATHS)
            self.track(
                user.user_id, group_id, API_CALL_EVENT, self.moment(ago, self.rng.uniform(0, 24)),
                {"method": method, "path": path.format(team=team)},
            )

    # --- Usage Tend cannot place -------------------------------------------------------------

    def unknown(self, accounts: list[Account]) -> int:
        """Groups and people with no account: for the admins' "Unmatched usage" page."""
        trial = Trajectory(ONBOARDING, start=18)
        self.stray_team(trial, "sprout-aquafarm.io", {"name": "Sprout Aquafarm", "plan": "trial"}, people=2)
        # A customer's second team, for staging: their people, an id nobody recorded.
        customer = next((a for a in accounts if a.domains and a.tier and a.tier.name == "Enterprise"), None)
        if customer is not None:
            self.stray_team(
                Trajectory(STEADY, start=60), customer.domains[0],
                {"name": f"{customer.name} (staging)", "plan": "enterprise"}, people=2,
            )
        # Someone who signed up with a personal address and never created or joined a team.
        loner = self.person("gmail.com", joined=40, engagement=0.5)
        self.introduce(loner, None, {})
        for ago, factor, weekend in self.days(Trajectory(STEADY, start=40)):
            if self.rng.random() < 0.5 * factor * (0.12 if weekend else 1.0):
                self.workday(loner, None, ago, shift=0, features=FEATURES[:2], actions=(0, 2))
        return 3 if customer is not None else 2

    def stray_team(self, trajectory: Trajectory, domain: str, traits: dict, *, people: int) -> None:
        group_id = self.team_id()
        users = [self.person(domain, trajectory.start, engagement=0.6) for _ in range(people)]
        for user in users:
            self.introduce(user, group_id, traits)
        for ago, factor, weekend in self.days(trajectory):
            for user in users:
                if self.rng.random() < user.engagement * factor * (0.12 if weekend else 1.0):
                    self.workday(user, group_id, ago, shift=0, features=FEATURES[:4], actions=(0, 3))

    def send_tracks(self) -> None:
        for message in self.tracks:
            self.sender.add(message)
        self.sender.flush()
        self.tracks = []


def define_events(ctx: DemoContext) -> int:
    """FlowFuse's feature list, its login event and its API call event; returns how many were added."""
    actor = ctx.people.get("admin@flowfuse.example")
    definitions = [(EventRole.FEATURE, f.event_name, f.label, f.description) for f in FEATURES] + [
        (EventRole.LOGIN, LOGIN_EVENT, "Sign-ins", "Someone signed in to FlowFuse (app or SSO)."),
        (EventRole.API_CALL, API_CALL_EVENT, "API calls", "A call to the FlowFuse API with a team or user token."),
    ]
    existing = set(EventDefinition.objects.values_list("role", "event_name"))
    for role, name, label, description in definitions:
        if (role, name) in existing:
            continue
        services.event_definition_save(
            organization=ctx.organization, actor=actor, role=role, event_name=name, label=label,
            description=description,
        )
    return len(definitions) - len(existing)


def seed_product_usage(ctx: DemoContext) -> None:
    """Feature definitions, product ids and 90 days of events, ingested and rolled up."""
    from usage.rollups import account_usage_refresh, rollup_dirty_days

    started = time.perf_counter()
    definitions = define_events(ctx)
    ids = [account.id for account in ctx.data.get("accounts", [])]
    accounts = Account.objects.select_related("tier", "stage").order_by("id")
    if ids:
        accounts = accounts.filter(id__in=ids)
    accounts = list(accounts)
    usage = _Usage(ctx, ctx.scale)
    shapes: dict[str, int] = {}
    people = 0
    for account in accounts:
        trajectory = trajectory_for(account, usage.today, usage.rng)
        kind = trajectory.kind if trajectory else "none"
        shapes[kind] = shapes.get(kind, 0) + 1
        people += usage.account(account, trajectory)
    unknown_groups = usage.unknown(accounts)
    usage.sender.flush()  # identities first, so every track finds its person
    usage.send_tracks()
    ingested = time.perf_counter()
    # A bulk load in one transaction leaves the planner believing the tables are empty, and
    # the rollup's joins then degrade to nested loops (40 s instead of 2): refresh the stats.
    with connection.cursor() as cursor:
        for table in ("integrations_usageevent", "integrations_usageuser", "accounts_accountexternalid"):
            cursor.execute(f"ANALYZE {table}")
    rollup = rollup_dirty_days(organization=ctx.organization)
    refreshed = account_usage_refresh(organization=ctx.organization)
    shape_text = ", ".join(f"{count} {kind}" for kind, count in sorted(shapes.items()))
    ctx.log(
        f"{usage.sender.stored} usage messages from {people} product users over {DAYS} days "
        f"({usage.sender.unmatched} unmatched, from {unknown_groups} unknown teams and people); "
        f"{definitions} event definitions; accounts: {shape_text}; "
        f"rolled up {rollup.days} days into {rollup.rows} daily rows, {refreshed} accounts refreshed; "
        f"{ingested - started:.1f} s to ingest, {time.perf_counter() - ingested:.1f} s to roll up"
    )
