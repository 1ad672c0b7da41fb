"""What ``seed_demo`` builds, in order: each builder receives the ``DemoContext`` and may leave
what it made there (``ctx.data``) for the builders after it."""

from __future__ import annotations

from typing import Callable

from demo.book import seed_accounts
from demo.people import DemoContext
from demo.usage import seed_product_usage

BUILDERS: list[Callable[[DemoContext], None]] = [
    seed_accounts,  # cohorts, accounts, people, timeline, tasks, handoffs
    seed_product_usage,  # 90 days of product events for those accounts, rolled up
]
