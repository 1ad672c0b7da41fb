"""The people behind usage: ``identify`` and ``group`` messages kept as ``UsageUser`` rows,
matched to accounts and contacts, and unmatched events given to an account once known."""

from __future__ import annotations

from collections import defaultdict

from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower

from accounts.models import Contact, ContactRole
from cs_platform.models import Organization
from usage.ingest.parse import Message
from usage.models import UsageUser
from usage.selectors import PRODUCT_SOURCE, accounts_by_external_id


def apply_identities(organization: Organization, messages: list[Message]) -> None:
    """``identify``: the user's traits (and contact); ``group``: the user's account.

    A handful of statements per batch, whatever the number of people in it.
    """
    user_ids = {m.user_id for m in messages if m.user_id}
    users = {user.user_id: user for user in UsageUser.objects.filter(user_id__in=user_ids)}
    accounts = accounts_by_external_id(m.group_id for m in messages if m.type == "group")
    newly_matched: dict[int, list[str]] = defaultdict(list)
    for message in sorted(messages, key=lambda m: m.timestamp):
        if not message.user_id:
            continue  # anonymous identify/group: nothing to remember a person by
        user = users.get(message.user_id)
        if user is None:
            user = users[message.user_id] = UsageUser(
                organization=organization, user_id=message.user_id, first_seen_at=message.timestamp
            )
        user.last_seen_at = max(user.last_seen_at or message.timestamp, message.timestamp)
        if message.type == "identify":
            user.traits = {**user.traits, **message.properties}
        else:
            user.group_id = message.group_id
            account_id = accounts.get(message.group_id)
            if account_id is not None and user.account_id != account_id:
                user.account_id = account_id
                newly_matched[account_id].append(user.user_id)
    # One upsert: a person first seen by two requests at once is one row, the later traits win.
    UsageUser.objects.bulk_create(
        list(users.values()), update_conflicts=True, unique_fields=["organization", "user_id"],
        update_fields=["group_id", "account", "traits", "last_seen_at"],
    )
    sync_contacts(organization, [user for user in users.values() if user.account_id is not None])
    for account_id, matched_user_ids in newly_matched.items():
        attribute_unmatched(organization=organization, user_ids=matched_user_ids, account_id=account_id)


def sync_contacts(organization: Organization, users: list[UsageUser]) -> None:
    """The product's users as contacts of their accounts, kept to their latest traits.

    A person already known as a contact of that account by e-mail (from the CRM, say) is
    linked, not duplicated, and left as its source wrote it.
    """
    if not users:
        return
    by_user_id = {c.external_id: c for c in Contact.objects.filter(source=PRODUCT_SOURCE, external_id__in=[u.user_id for u in users])}
    unlinked = [u for u in users if u.user_id not in by_user_id and _email_of(u)]
    by_email = {
        (c.account_id, c.email.lower()): c
        for c in Contact.objects.annotate(email_folded=Lower("email")).filter(
            account_id__in={u.account_id for u in unlinked}, email_folded__in={_email_of(u).lower() for u in unlinked}
        )
    }
    created, updated = [], []
    for user in users:
        email = _email_of(user)
        contact = by_user_id.get(user.user_id)
        if contact is None and (user.account_id, email.lower()) in by_email:
            user.contact = by_email[(user.account_id, email.lower())]  # someone else's record: link only
            continue
        if contact is None:
            contact = Contact(
                organization=organization, source=PRODUCT_SOURCE, external_id=user.user_id, role=ContactRole.USER
            )
            created.append(contact)
        else:
            updated.append(contact)
        contact.account_id = user.account_id
        contact.name = (_name_from(user.traits) or email or user.user_id)[:200]
        if email:
            contact.email = email
        if isinstance(user.traits.get("title"), str):
            contact.title = user.traits["title"][:120]
        user.contact = contact
    try:
        with transaction.atomic():
            Contact.objects.bulk_create(created)
    except IntegrityError:
        # Another request made one of these contacts a moment ago: take theirs, update it.
        for contact in created:
            contact.pk = Contact.objects.get(source=PRODUCT_SOURCE, external_id=contact.external_id).pk
            updated.append(contact)
    Contact.objects.bulk_update(updated, ["account", "name", "email", "title"])
    UsageUser.objects.bulk_update(users, ["contact"])


def _email_of(user: UsageUser) -> str:
    email = user.traits.get("email")
    return email.strip() if isinstance(email, str) and 0 < len(email.strip()) <= 254 else ""


def _name_from(traits: dict) -> str:
    if isinstance(traits.get("name"), str) and traits["name"].strip():
        return traits["name"].strip()
    parts = [traits.get(key) for key in ("firstName", "lastName", "first_name", "last_name")]
    return " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def attribute_unmatched(*, organization: Organization, account_id: int, user_ids=(), group_ids=()) -> int:
    """Give unmatched events of these users or groups to ``account_id``; they count from now.

    Returns how many events moved. The days they fall on are noted for the rollup.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH moved AS (
                UPDATE integrations_usageevent SET account_id = %(account)s
                WHERE organization_id = %(organization)s AND account_id IS NULL
                  AND ((user_id = ANY(%(users)s) AND user_id <> '') OR (group_id = ANY(%(groups)s) AND group_id <> ''))
                RETURNING timestamp
            ), noted AS (
                INSERT INTO integrations_dirtyday (organization_id, day)
                SELECT DISTINCT %(organization)s, (timestamp AT TIME ZONE 'UTC')::date FROM moved
            )
            SELECT count(*) FROM moved
            """,
            {"account": account_id, "organization": organization.id, "users": list(user_ids), "groups": list(group_ids)},
        )
        return cursor.fetchone()[0]
