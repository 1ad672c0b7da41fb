"""The Account 360's usage card: chart series, adoption list and headline metrics of one
account's product usage, read in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Account
from accounts.sections import Card
from usage.models import AccountUsage, EventDefinition, EventRole, UsageDaily

CHART_DAYS = 90
ADOPTION_WINDOW_DAYS = 30
# The two daily metrics the chart draws, as the event rollup names them.
CHART_METRICS = ("active_users", "events")
FEATURE_METRIC_PREFIX = "event:"


def _utc_today() -> dt.date:
    # Rollup days are UTC days, whatever the organization's time zone.
    return timezone.now().astimezone(dt.UTC).date()


def _count(value: float | None) -> int:
    return int(round(value or 0))


def daily_series(account: Account, days: int = CHART_DAYS, today: dt.date | None = None) -> list[dict]:
    """``[{"day", "active_users", "events"}]`` for each of the last ``days`` UTC days, oldest first.

    Days without rows are zeros; each source's rows (events, CSV, connector) are added up.
    One query, on the (organization, account, day, metric, …) unique index.
    """
    today = today or _utc_today()
    first = today - dt.timedelta(days=days - 1)
    totals = {
        (row["day"], row["metric"]): row["total"]
        for row in UsageDaily.objects.filter(
            account=account, day__gte=first, day__lte=today, metric__in=CHART_METRICS
        )
        .values("day", "metric")
        .annotate(total=Sum("value"))
        .order_by()
    }
    series = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        series.append({"day": day, **{metric: _count(totals.get((day, metric))) for metric in CHART_METRICS}})
    return series


@dataclass
class FeatureAdoption:
    name: str
    event_name: str
    description: str
    last_used: dt.date | None
    uses_30d: int

    @property
    def used(self) -> bool:
        return self.last_used is not None


def adoption(account: Account, today: dt.date | None = None) -> list[FeatureAdoption]:
    """The organization's features in their set order, each used by the account or not yet.

    A feature is used once any source counted its ``event:<name>`` metric above zero
    on some day. One query for all features (correlated subqueries per definition).
    """
    today = today or _utc_today()
    since = today - dt.timedelta(days=ADOPTION_WINDOW_DAYS - 1)
    uses = UsageDaily.objects.filter(
        account=account,
        metric=Concat(Value(FEATURE_METRIC_PREFIX), OuterRef("event_name")),
        value__gt=0,
    ).order_by()
    # Grouped by the one metric the subquery matches: one row, the window's total.
    window_total = (
        uses.filter(day__gte=since, day__lte=today)
        .values("metric")
        .annotate(total=Sum("value"))
        .values("total")
    )
    definitions = (
        EventDefinition.objects.filter(role=EventRole.FEATURE)
        .annotate(
            last_used=Subquery(uses.order_by("-day").values("day")[:1]),
            uses_30d=Coalesce(Cast(Subquery(window_total), IntegerField()), 0),
        )
        .order_by("position", "event_name")
    )
    return [
        FeatureAdoption(
            name=definition.shown_name,
            event_name=definition.event_name,
            description=definition.description,
            last_used=definition.last_used,
            uses_30d=definition.uses_30d,
        )
        for definition in definitions
    ]


def metrics_for(account: Account) -> AccountUsage | None:
    """The account's derived usage metrics, or None before its first rollup."""
    return AccountUsage.objects.filter(account=account).first()


@dataclass
class UsageCard:
    """Everything the Account 360's usage card shows."""

    metrics: AccountUsage | None
    series: list[dict]
    features: list[FeatureAdoption]

    @property
    def has_usage(self) -> bool:
        return self.metrics is not None or any(day["active_users"] or day["events"] for day in self.series)

    @property
    def features_used(self) -> list[FeatureAdoption]:
        return [feature for feature in self.features if feature.used]

    @property
    def features_not_yet_used(self) -> list[FeatureAdoption]:
        return [feature for feature in self.features if not feature.used]


def usage_card(account: Account, today: dt.date | None = None) -> UsageCard:
    """Three queries, whatever the number of days, sources or features."""
    return UsageCard(
        metrics=metrics_for(account),
        series=daily_series(account, today=today),
        features=adoption(account, today=today),
    )


# Chart.js and the chart's own script, served as Tend's static files (CSP: 'self' only).
CHART_SCRIPTS = ("vendor/chart.umd.min.js", "tend/usage_chart.js")


def account_card(request: HttpRequest, account: Account) -> Card:
    """The usage card as the Account 360 shows it (registered in ``UsageConfig.ready``)."""
    usage = usage_card(account)
    html = render_to_string("usage/partials/usage_card.html", {"usage": usage, "account": account}, request=request)
    return Card(html=html, scripts=CHART_SCRIPTS if usage.has_usage else ())
