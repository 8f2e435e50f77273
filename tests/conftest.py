"""Fixtures shared by every test. Keep this file small: fixtures for one app live beside that app's tests."""

import os
from collections.abc import Iterator

import pytest
import time_machine
from django.utils import translation
from pytest_django import Settings

from tests import markers, ordering

# The requires_postgres / requires_redis rule (skip outside CI, fail in CI), registered as a hook of this conftest.
pytest_runtest_setup = markers.pytest_runtest_setup
# Transactional tests with serialized_rollback run before the other transactional tests (see tests/ordering.py).
pytest_collection_modifyitems = ordering.pytest_collection_modifyitems

# The tests' receivers (storefronts, robots, the SMS simulator) listen on 127.0.0.1: outgoing requests may go to
# loopback and private addresses, here and in the worker processes tests start (they inherit the environment).
# The SSRF tests (tests/kefu/outbound/) switch it off again.
os.environ["KEFU_OUTBOUND_ALLOW_PRIVATE"] = "true"
# ``seed_demo``'s 30 days of history (desk/demo/history.py): a dozen tickets in tests, not a few hundred
# (tests/desk/test_demo_history.py builds a bigger one).
os.environ.setdefault("KEFU_DEMO_HISTORY_TICKETS", "12")
# ``seed_demo``'s orders stuck on their way to Hubei (desk/demo/incident.py): 20 in tests, not 500 (the incident's
# browser test makes its 500 itself).
os.environ.setdefault("KEFU_DEMO_INCIDENT_ORDERS", "20")


@pytest.fixture(autouse=True)
def _private_receivers_allowed(settings: Settings) -> None:
    """KEFU_OUTBOUND_ALLOW_PRIVATE on in this process too (the settings were read before this file)."""
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _english_unless_asked() -> Iterator[None]:
    """Messages formatted outside a request (services called directly) come out in English, the msgids' language.

    Outside a request Django would use LANGUAGE_CODE (zh-hans), and after a request the language LocaleMiddleware
    chose stays active in the thread: without this, a test's messages would depend on which test ran before it.
    Requests still follow their Accept-Language; a test that wants Chinese uses ``translation.override``.
    """
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_config_snapshots() -> Iterator[None]:
    """Each test reads configuration (rules, policies, templates, …) and API keys from its own database state.

    A test's rows are rolled back without a signal, so a snapshot loaded during one test would outlive it.
    """
    from api.key_cache import verified_keys
    from kefu.core.config_cache import invalidate_all

    invalidate_all()
    verified_keys.clear()
    yield
    invalidate_all()
    verified_keys.clear()


@pytest.fixture
def redis_url() -> str:
    """The Redis URL of the Celery broker; skips (outside CI) or fails (in CI) the test when Redis is missing."""
    markers.require(markers.redis_missing())
    url = markers.redis_url()
    assert url is not None
    return url


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The engine's clock (``timezone.now()``) frozen at ``tests.factories.desk.T0``; ``clock.shift(delta)`` moves
    it. Shared by the routing, assignment, deadline and SLA tests."""
    from tests.factories.desk import T0

    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller
