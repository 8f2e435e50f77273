"""The shared cache fails open (kefu.core.cache): with Redis unreachable, every call answers as an empty cache,
after one short attempt, with one warning for the whole outage rather than one per call; API writes go on (the
throttles cannot count, so they let requests through) instead of answering 500."""

from __future__ import annotations

import logging
import socket

import pytest
from django.core.cache import cache

from api.throttling import ApiKeyRateThrottle
from tests.api.conftest import storefront, url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


@pytest.fixture
def unreachable_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "kefu.core.cache.FailOpenRedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.KEFU_CACHE_RETRY_SECONDS = 60
    yield
    from kefu.core import cache as module

    module._outages.clear()


def test_every_call_answers_as_an_empty_cache(unreachable_cache):
    assert cache.get("k") is None and cache.get("k", "default") == "default"
    assert cache.set("k", 1) is None and cache.add("k", 1) is False
    assert cache.incr("counter") == 0
    assert cache.get_many(["a", "b"]) == {} and cache.has_key("k") is False
    assert cache.get_or_set("k", 5) == 5
    assert cache.delete("k") is False


def test_an_outage_is_logged_once_not_once_per_call(unreachable_cache, caplog):
    with caplog.at_level(logging.WARNING, logger="kefu.core.cache"):
        for _ in range(200):
            cache.get("k")
    warnings = [r for r in caplog.records if r.name == "kefu.core.cache"]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()


@pytest.mark.django_db
def test_api_writes_go_on_without_the_cache_and_the_throttle_lets_them_through(unreachable_cache, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    shop = storefront("cache-down-shop")
    for _ in range(5):  # more than the rate: nothing can be counted, so nothing is refused
        order = shop.order()
        response = shop.client.post(
            url("return-open"),
            {"order_number": order.number, "lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem"},
            format="json",
        )
        assert response.status_code == 201, response.content
