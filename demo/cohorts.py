"""FlowFuse's cohorts (seed 001): Trial → Starter → Premium → Enterprise, how each is
covered (seed 002: automated, pooled, dedicated), their ARR and how much history they carry.

Public so that ``bench/generate.py`` builds its scale organization from the same material.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from accounts import services
from accounts.models import Tier, Touch
from cs_platform.models import Organization, User

@dataclass(frozen=True)
class TierSpec:
    name: str
    description: str
    touch: str
    check_in_cadence_days: int | None
    qbr_arr_threshold: int | None  # minor units
    arr_range: tuple[int, int]  # major units; drawn skewed towards the low end, as real books are
    share: float  # of the accounts
    activities: tuple[int, int]  # timeline entries over a year: more touch, more history
    contacts: tuple[int, int]
    open_tasks: tuple[int, int]


QBR_THRESHOLD = 1_000_000  # 10,000.00 a year
TIERS: list[TierSpec] = [
    TierSpec("Trial", "Not paying for services", Touch.AUTOMATED, None, None, (0, 0), 0.38, (0, 4), (1, 2), (0, 1)),
    TierSpec("Starter", "Low number of Node-RED instances", Touch.POOLED, 90, None, (1_000, 5_000), 0.37, (3, 9), (1, 3), (0, 1)),
    TierSpec(
        "Premium", "Team of users, collaboration on applications", Touch.POOLED, 30, QBR_THRESHOLD,
        (10_000, 60_000), 0.18, (10, 26), (2, 4), (0, 2),
    ),
    TierSpec(
        "Enterprise", "Large scale applications, extensive use of FlowFuse's features", Touch.DEDICATED, 14,
        QBR_THRESHOLD, (80_000, 400_000), 0.07, (28, 60), (3, 5), (1, 2),
    ),
]
TIER_SPECS = {spec.name: spec for spec in TIERS}
PAID_TIERS = [spec.name for spec in TIERS if spec.arr_range[1] > 0]

CSM, CSM2, AE, MANAGER, ADMIN = (
    "csm@flowfuse.example", "csm2@flowfuse.example", "ae@flowfuse.example",
    "manager@flowfuse.example", "admin@flowfuse.example",
)
# Trials are tech touch (nobody); the two CSMs split the paid cohorts, sharing Premium.
DEMO_COVERAGE = {"Trial": [], "Starter": [CSM2], "Premium": [CSM, CSM2], "Enterprise": [CSM]}


def arr_for(spec: TierSpec, rng: random.Random) -> int:
    """A plausible ARR for the cohort, in minor units, rounded as a price list would be."""
    low, high = spec.arr_range
    if high == 0:
        return 0
    major = rng.triangular(low, high, low)
    step = 1_000 if high > 50_000 else 100 if high > 5_000 else 10
    return int(round(major / step) * step) * 100


def tiers_create(*, organization: Organization, actor: User | None, coverage: dict[str, list[User]]) -> dict[str, Tier]:
    """The four cohorts of seed 001, positioned 1–4, with the CSMs covering each."""
    existing = {tier.name: tier for tier in Tier.objects.filter(organization=organization)}
    return {
        spec.name: services.tier_save(
            organization=organization, actor=actor, tier=existing.get(spec.name), csms=coverage.get(spec.name, []),
            name=spec.name, position=position, description=spec.description, touch=spec.touch,
            check_in_cadence_days=spec.check_in_cadence_days, qbr_arr_threshold=spec.qbr_arr_threshold,
        )
        for position, spec in enumerate(TIERS, start=1)
    }
