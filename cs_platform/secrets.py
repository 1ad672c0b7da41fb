"""Secrets kept at rest (connection strings, other systems' tokens), encrypted with Fernet.

The key is ``TEND_SECRETS_KEY``: one Fernet key, or several separated by commas to
rotate (the first encrypts, every one decrypts; re-save secrets, then drop the old
key). Without it, a key is derived from ``SECRET_KEY`` with HKDF-SHA256, so changing
``SECRET_KEY`` then makes every stored secret unreadable: they must be entered again.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Fixed, so the same SECRET_KEY always derives the same key; versioned, should the derivation change.
_HKDF_SALT = b"tend.secrets"
_HKDF_INFO = b"tend.secrets.fernet.v1"


class SecretError(Exception):
    """A stored secret could not be decrypted with the keys configured now."""


@lru_cache(maxsize=4)
def _fernet(configured: str, secret_key: str) -> MultiFernet:
    keys = [key.strip() for key in configured.split(",") if key.strip()]
    if not keys:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(
            secret_key.encode()
        )
        keys = [base64.urlsafe_b64encode(derived).decode()]
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            raise ImproperlyConfigured(
                f"TEND_SECRETS_KEY: key {position} is not a Fernet key (32 url-safe base64-encoded bytes). "
                "Make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
    return MultiFernet(fernets)


def _current() -> MultiFernet:
    return _fernet(getattr(settings, "TEND_SECRETS_KEY", "") or "", settings.SECRET_KEY)


def encrypt(text: str) -> str:
    """``text`` encrypted (and authenticated) with the first key, as a printable token."""
    return _current().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The text of a token from :func:`encrypt`; :class:`SecretError` if no key opens it."""
    try:
        return _current().decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretError(
            "A stored secret could not be decrypted: it was encrypted with another key "
            "(TEND_SECRETS_KEY, or SECRET_KEY when that is unset, has changed). Enter the secret again."
        ) from None


def rotate(token: str) -> str:
    """``token`` re-encrypted with the first key, for moving secrets off an old key."""
    try:
        return _current().rotate(token.encode()).decode()
    except (InvalidToken, ValueError):
        raise SecretError("A stored secret could not be decrypted with any configured key.") from None
