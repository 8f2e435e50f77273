"""Markers for tests that need real services, and the rule that applies them.

    from tests.markers import requires_postgres, requires_redis

    @requires_postgres
    @pytest.mark.django_db(transaction=True)
    def test_concurrent_refunds_cannot_exceed_paid(): ...

Rule: outside CI a test whose service is missing is skipped, and ``-ra`` prints why and how to provide it.
When ``CI=true`` such a test is never skipped: it fails with the same message, so a CI run that silently
lost its PostgreSQL or Redis cannot pass.

- ``requires_postgres``: the test database connection is PostgreSQL (``DATABASE_URL=postgres://...``).
  Whether the server is reachable is left to pytest-django, which fails loudly when it cannot create the
  test database.
- ``requires_redis``: ``CELERY_BROKER_URL`` is a Redis URL and that server answers PING. The ``redis_url``
  fixture in tests/conftest.py gives the URL (and applies the same rule).

tests/conftest.py registers :func:`pytest_runtest_setup` as a hook.
"""

import functools
import os

import pytest

requires_postgres = pytest.mark.requires_postgres
requires_redis = pytest.mark.requires_redis

POSTGRES_HINT = "set DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu (CI sets it)"
REDIS_HINT = "set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 and CACHE_URL=redis://127.0.0.1:6379/1 (CI sets them)"


def in_ci() -> bool:
    """Whether this run is CI, where tests needing services must run, not skip."""
    return os.environ.get("CI", "").strip().lower() == "true"


def postgres_missing() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when the test database is PostgreSQL."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return None
    return f"needs PostgreSQL, the test database is {connection.vendor}: {POSTGRES_HINT}"


def redis_url() -> str | None:
    """The Redis URL the Celery broker uses, or None when the broker is not Redis."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://")) else None


@functools.cache
def redis_missing() -> str | None:
    """Why the Redis tests cannot run here, or None when the broker is Redis and answers PING.

    Cached: one connection attempt per test session, not one per test.
    """
    import redis

    url = redis_url()
    if url is None:
        return f"needs Redis as the Celery broker: {REDIS_HINT}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        return f"needs Redis, {url} does not answer PING ({exc}): start redis-server or {REDIS_HINT}"
    return None


def require(reason: str | None) -> None:
    """Skip (outside CI) or fail (in CI) the current test when ``reason`` says a service is missing."""
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true, so this test may not skip: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Apply the rule to tests carrying ``requires_postgres`` / ``requires_redis``.

    tryfirst: before any fixture runs, so a skipped test does not first create a test database.
    """
    if item.get_closest_marker("requires_postgres"):
        require(postgres_missing())
    if item.get_closest_marker("requires_redis"):
        require(redis_missing())
