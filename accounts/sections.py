"""Cards other apps add to the Account 360, below its summary (usage now; health, tickets
and renewals as they come), so ``accounts`` shows them without importing those apps.

An app registers a card maker in its ``AppConfig.ready``; the maker renders its card for
one account in a fixed number of queries and names the static scripts it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from accounts.models import Account


@dataclass(frozen=True)
class Card:
    html: SafeString
    scripts: tuple[str, ...] = ()  # static paths, loaded in the page's head


CardMaker = Callable[[HttpRequest, Account], Card]
_makers: list[tuple[int, CardMaker]] = []


def register(maker: CardMaker, *, order: int) -> None:
    """Show ``maker``'s card on every Account 360, lower ``order`` first."""
    if all(existing is not maker for _, existing in _makers):
        _makers.append((order, maker))
        _makers.sort(key=lambda entry: entry[0])


def cards(request: HttpRequest, account: Account) -> list[Card]:
    return [maker(request, account) for _, maker in _makers]
