"""Lines that ``serve`` prints under "Tend is running at …", added by apps above the core
(the demo's logins) so that the runner knows nothing of them."""

from __future__ import annotations

from typing import Callable

_sources: list[Callable[[], list[str]]] = []


def register(source: Callable[[], list[str]]) -> None:
    """Print ``source()``'s lines in the banner (nothing when it returns none)."""
    if source not in _sources:
        _sources.append(source)


def lines() -> list[str]:
    return [line for source in _sources for line in source()]
