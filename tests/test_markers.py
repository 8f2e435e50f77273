"""The requires_postgres / requires_redis markers: they run where the service is, and never skip in CI."""

import textwrap

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.markers import requires_postgres, requires_redis


@requires_postgres
@pytest.mark.django_db
def test_requires_postgres_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (version,) = cursor.fetchone()
    assert int(version) >= 130000


@requires_redis
def test_requires_redis_runs_with_a_redis_broker(redis_url: str) -> None:
    assert settings.CELERY_BROKER_URL == redis_url
    client = redis.Redis.from_url(redis_url)
    assert client.ping() is True


# The rule itself, checked in a separate pytest process on SQLite (so PostgreSQL is missing there).
INNER_TEST = textwrap.dedent(
    """
    from tests.markers import requires_postgres

    @requires_postgres
    def test_needs_postgres():
        pass
    """
)
INNER_CONFTEST = "from tests.conftest import pytest_runtest_setup  # noqa: F401\n"


def _run_inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *, ci: str) -> pytest.RunResult:
    monkeypatch.setenv("CI", ci)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{pytester.path / 'inner.sqlite3'}")
    monkeypatch.setenv("PYTHONPATH", str(settings.BASE_DIR))
    pytester.makeconftest(INNER_CONFTEST)
    pytester.makepyfile(test_inner=INNER_TEST)
    return pytester.runpytest_subprocess("-ra", "-p", "no:cacheprovider", "--ds=kefu.settings")


def test_missing_service_skips_with_its_reason_outside_ci(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run_inner(pytester, monkeypatch, ci="")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*needs PostgreSQL, the test database is sqlite: set DATABASE_URL=postgres*"])


def test_missing_service_fails_in_ci(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_inner(pytester, monkeypatch, ci="true")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*CI=true, so this test may not skip: needs PostgreSQL*"])
