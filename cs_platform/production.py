"""What a production start (``TEND_PRODUCTION=1``) refuses: a SECRET_KEY anyone could know or guess."""

from __future__ import annotations

# Good enough for the demo and tests on one machine; never for a real deployment.
DEVELOPMENT_SECRET_KEY = "tend-insecure-development-key-change-me-in-production"
# Keys published with Tend: the development one and .env.example's (old copies included).
KNOWN_PLACEHOLDERS = frozenset({DEVELOPMENT_SECRET_KEY, "change-me-to-a-long-random-string"})
PLACEHOLDER_WORDS = ("change-me", "changeme", "insecure", "placeholder")
MIN_LENGTH = 50  # as Django's own deployment check asks
MIN_DISTINCT_CHARACTERS = 10  # a hex key has 16; "aaaa…" or "abab…" have one or two

HOW_TO_MAKE_ONE = (
    "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))' and set it as SECRET_KEY "
    "(in .env for docker compose). Connector connection strings saved under the old key must then be entered "
    "again, unless TEND_SECRETS_KEY is set."
)


def secret_key_problem(key: str) -> str | None:
    """A sentence saying why ``key`` must not sign a production deployment's sessions, or None."""
    if not key:
        problem = "SECRET_KEY is not set, and TEND_PRODUCTION=1 needs one."
    elif key in KNOWN_PLACEHOLDERS or any(word in key.lower() for word in PLACEHOLDER_WORDS):
        problem = "SECRET_KEY is a placeholder published with Tend, so anyone can forge sessions and read stored secrets."
    elif len(key) < MIN_LENGTH:
        problem = f"SECRET_KEY is {len(key)} characters long; production needs at least {MIN_LENGTH} random ones."
    elif len(set(key)) < MIN_DISTINCT_CHARACTERS:
        problem = "SECRET_KEY repeats too few characters to be random, so it can be guessed."
    else:
        return None
    return f"{problem} {HOW_TO_MAKE_ONE}"
