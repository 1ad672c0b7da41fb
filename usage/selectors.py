"""Reads of product usage: keys, definitions, identities and external ids."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import QuerySet
from django_scopes import scopes_disabled

from accounts.models import Account, AccountStatus
from cs_platform.tenancy import active_organization
from usage.models import EventDefinition, EventRole, WriteKey

# When one external id belongs to accounts in several systems, the product's own wins.
PRODUCT_SOURCE = "product"


# Write keys resolved recently, per process: a busy source sends hundreds of requests a
# second with one key. A revocation reaches this process at once (write_key_forget) and
# the others within USAGE_WRITE_KEY_CACHE_SECONDS.
_write_keys: dict[str, tuple[float, WriteKey | None]] = {}


def write_key_by_hash(key_hash: str) -> WriteKey | None:
    """The write key (with its organization) whose SHA-256 is ``key_hash``, revoked or not."""
    now = time.monotonic()
    cached = _write_keys.get(key_hash)
    if cached is not None and now - cached[0] < settings.USAGE_WRITE_KEY_CACHE_SECONDS:
        return cached[1]
    # The key names no organization, so finding it crosses tenants by nature; its
    # unguessable hash confines the lookup, and its organization's scope all that follows.
    with scopes_disabled():
        key = WriteKey.objects.select_related("organization").filter(key_hash=key_hash).first()
    if key is not None:  # unknown keys are not remembered: a flood of guesses must not fill memory
        if len(_write_keys) > 10_000:
            _write_keys.clear()
        _write_keys[key_hash] = (now, key)
    return key


def write_key_forget(key_hash: str) -> None:
    _write_keys.pop(key_hash, None)


def write_keys() -> QuerySet[WriteKey]:
    """The organization's write keys for the settings page: newest first, revoked ones too."""
    return WriteKey.objects.select_related("created_by").order_by("-created_at", "-id")


def event_names(role: EventRole) -> list[str]:
    """The event names the organization has given ``role`` (its features, its login events…)."""
    return list(EventDefinition.objects.filter(role=role).values_list("event_name", flat=True))


def event_definitions() -> QuerySet[EventDefinition]:
    return EventDefinition.objects.order_by("role", "position", "event_name")


def accounts_by_external_id(external_ids: Iterable[str]) -> dict[str, int]:
    """``{external id: account id}`` for those of ``external_ids`` that name an account.

    Any system's external id counts (the product's usually is the CRM's or billing's);
    where two accounts share one, the ``product`` source's wins, then the oldest.
    """
    wanted = sorted({value for value in external_ids if value})
    if not wanted:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (external_id) external_id, account_id
            FROM accounts_accountexternalid
            WHERE organization_id = %s AND external_id = ANY(%s)
            ORDER BY external_id, (source <> %s), id
            """,
            [active_organization().id, wanted, PRODUCT_SOURCE],
        )
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class UnmatchedIdentity:
    """Events Tend could not attribute, by the product group (or user) they came from."""

    kind: str  # "group", "user" or "anonymous"
    identifier: str
    events: int
    users: int
    first_at: dt.datetime
    last_at: dt.datetime
    hint: str  # an e-mail or name from the traits, to help an admin recognise it


# Each unattributed event, as the group (or else the user) it came from.
_UNMATCHED_EVENTS = """
    SELECT CASE WHEN e.group_id <> '' THEN 'group' WHEN e.user_id <> '' THEN 'user' ELSE 'anonymous' END AS kind,
           CASE WHEN e.group_id <> '' THEN e.group_id WHEN e.user_id <> '' THEN e.user_id ELSE '' END AS identifier,
           e.user_id, e.timestamp
    FROM integrations_usageevent e
    WHERE e.organization_id = %(organization)s AND e.account_id IS NULL
"""

UNMATCHED_SQL = f"""
SELECT kind, identifier, count(*), count(DISTINCT nullif(unmatched.user_id, '')), min(timestamp), max(timestamp),
       max(coalesce(u.traits->>'email', u.traits->>'name', ''))
FROM ({_UNMATCHED_EVENTS}) unmatched
LEFT JOIN integrations_usageuser u
    ON u.organization_id = %(organization)s AND u.user_id = unmatched.user_id AND unmatched.user_id <> ''
GROUP BY kind, identifier
ORDER BY count(*) DESC, identifier
LIMIT %(limit)s
"""


def unmatched(limit: int = 200) -> list[UnmatchedIdentity]:
    """The organization's unattributed events, grouped, busiest first (read off partial indexes)."""
    with connection.cursor() as cursor:
        cursor.execute(UNMATCHED_SQL, {"organization": active_organization().id, "limit": limit})
        return [UnmatchedIdentity(*row) for row in cursor.fetchall()]


def unmatched_sources_count() -> int:
    """How many groups and users have unattributed events (the settings page's banner)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(DISTINCT (kind, identifier)) FROM ({_UNMATCHED_EVENTS}) unmatched",
            {"organization": active_organization().id},
        )
        return cursor.fetchone()[0]


def unmatched_group_ids() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT group_id FROM integrations_usageevent "
            "WHERE organization_id = %s AND account_id IS NULL AND group_id <> ''",
            [active_organization().id],
        )
        return [row[0] for row in cursor.fetchall()]


def account_names_for_suggestions(limit: int = 2000) -> list[str]:
    """Active account names for the mapping field's suggestions; none when there are too many to list."""
    names = list(Account.objects.filter(status=AccountStatus.ACTIVE).order_by("name").values_list("name", flat=True)[: limit + 1])
    return names if len(names) <= limit else []


def account_for_mapping(value: str) -> Account:
    """The account an admin named when mapping: its id, an external id, or its exact name.

    Raises ``ValidationError`` saying what to type instead when it is none or several.
    """
    value = value.strip()
    if not value:
        raise ValidationError("Name the account: its name, its Tend id or one of its external ids.")
    by_id = Account.objects.filter(public_id=value).first()
    if by_id is not None:
        return by_id
    by_external = accounts_by_external_id([value])
    if value in by_external:
        return Account.objects.get(pk=by_external[value])
    named = list(Account.objects.filter(name__iexact=value)[:2])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise ValidationError(f"Several accounts are called “{value}”; use the account's id from its page URL.")
    raise ValidationError(f"No account is called “{value}” or has that id.")
