"""Shared timing helpers for benchmarks: server time of a page through the full stack."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def measure(request: Callable[[], object], *, repeat: int, warmup: int = 20) -> dict[str, float]:
    """p50 / p95 / mean in milliseconds of ``request()`` over ``repeat`` runs."""
    for _ in range(warmup):
        request()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "p50_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 3),
        "mean_ms": round(statistics.fmean(samples), 3),
        "requests": repeat,
    }
