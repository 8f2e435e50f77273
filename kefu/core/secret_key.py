"""Whether a ``SECRET_KEY`` may sign a production site's sessions, CSRF tokens and password resets.

``kefu/settings/framework.py`` calls :func:`secret_key_problem` when ``DEBUG`` is off and refuses to start (Django's
``ImproperlyConfigured``) on an answer: a missing key, a short one, one of few distinct characters, or one
known to be public (Django's ``django-insecure-`` prefix, kefu's development key, placeholders such as
``changeme``). Only standard-library code: the settings module imports it before Django is set up.
"""

from __future__ import annotations

# Used only with DEBUG on (``make run``, the tests); refused with DEBUG off.
DEVELOPMENT_SECRET_KEY = "django-insecure-kefu-development-key-do-not-use-in-production"  # noqa: S105

# Django's own ``check --deploy`` thresholds (security.W009).
MIN_LENGTH = 50
MIN_DISTINCT_CHARACTERS = 5

# Placeholders copied from examples and tutorials: a key containing one of them (ignoring case, "-" and "_")
# is not a secret, however long. Not the bare word "secret": "not-a-secret-…" style names of long random keys
# are fine, and a word list that long would refuse real keys by chance.
PLACEHOLDERS = (
    "changeme",
    "changethis",
    "replaceme",
    "yoursecretkey",
    "secretkeyhere",
    "insecure",
    "donotuseinproduction",
)

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(64))'"


def secret_key_problem(key: str | None) -> str | None:
    """Why ``key`` must not be used with DEBUG off, or None when it may."""
    advice = (
        f" Set DJANGO_SECRET_KEY to a random value of at least {MIN_LENGTH} characters (e.g. the output of "
        f"{GENERATE}) and keep it secret; for development on your machine set DJANGO_DEBUG=true instead."
    )
    if not key:
        return "DJANGO_SECRET_KEY is not set, and DEBUG is off (DJANGO_DEBUG defaults to false)." + advice
    if key == DEVELOPMENT_SECRET_KEY or key.startswith("django-insecure-"):
        return "DJANGO_SECRET_KEY is a published development key, and DEBUG is off." + advice
    if len(key) < MIN_LENGTH:
        return f"DJANGO_SECRET_KEY is {len(key)} characters long, and DEBUG is off." + advice
    if len(set(key)) < MIN_DISTINCT_CHARACTERS:
        return f"DJANGO_SECRET_KEY has only {len(set(key))} distinct characters, and DEBUG is off." + advice
    folded = key.lower().replace("-", "").replace("_", "")
    for placeholder in PLACEHOLDERS:
        if placeholder in folded:
            return f"DJANGO_SECRET_KEY contains the placeholder {placeholder!r}, and DEBUG is off." + advice
    return None
