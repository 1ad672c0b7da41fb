"""Accounts test data, made through the services so history and audit are as in real use."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts import services
from accounts.models import Account, LifecycleStage, Tier
from cs_platform.models import Organization, User


def tier(org: Organization, name: str, **fields) -> Tier:
    return services.tier_save(organization=org, actor=None, name=name, **fields)


def stage(name: str) -> LifecycleStage:
    return LifecycleStage.objects.get(name=name)


def account(org: Organization, name: str, *, owner: User | None = None, renews_in_days: int | None = None, **fields) -> Account:
    if renews_in_days is not None:
        fields["renewal_date"] = timezone.localdate() + dt.timedelta(days=renews_in_days)
    return services.account_create(organization=org, actor=None, name=name, owner=owner, **fields)
