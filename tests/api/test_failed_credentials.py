"""Failed credentials are throttled per client address and per key prefix; the client address comes from the
trusted proxies (X-Forwarded-For entries a client wrote itself are ignored); the counters are atomic.

Admin logins are locked out by django-axes with the same address rule, limit and window
(tests/admin/test_login_lockout.py).
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from api.throttling import window_count
from kefu.core.client_address import client_address
from tests.api.conftest import assert_error, staff, storefront_client, url
from tests.markers import requires_redis

pytestmark = pytest.mark.django_db

LIMIT = 3


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.KEFU_AUTH_FAILURE_LIMIT = LIMIT
    settings.KEFU_AUTH_FAILURE_WINDOW_SECONDS = 600


def wrong_key(shop, guess: str = "wrong") -> str:
    return f"kefu_{shop.key.prefix}_{guess}"


def test_wrong_api_keys_from_one_address_are_throttled_and_the_right_key_then_waits_too(shop_a):
    path = url("ticket-list")
    for _ in range(LIMIT):
        assert_error(
            storefront_client(wrong_key(shop_a)).get(path, REMOTE_ADDR="203.0.113.7"), 401, "authentication_failed"
        )
    response = storefront_client(wrong_key(shop_a)).get(path, REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 429, "throttled")
    assert "failed attempts" in body["message"]
    assert 0 < int(response["Retry-After"]) <= 600
    # The address is refused before its credentials are read, even the right key, until the window ends.
    assert_error(shop_a.client.get(path, REMOTE_ADDR="203.0.113.7"), 429, "throttled")


def test_wrong_secrets_for_one_key_prefix_are_throttled_from_any_address(shop_a, shop_b):
    path = url("ticket-list")
    for i in range(LIMIT):
        storefront_client(wrong_key(shop_a, f"guess{i}")).get(path, REMOTE_ADDR=f"198.51.100.{i}")
    assert_error(storefront_client(wrong_key(shop_a)).get(path, REMOTE_ADDR="198.51.100.99"), 429, "throttled")
    # Another key, from a fresh address, is not affected.
    assert shop_b.client.get(path, REMOTE_ADDR="198.51.100.200").status_code == 200


def test_a_client_that_authenticates_is_not_counted(shop_a):
    for _ in range(LIMIT * 3):
        assert shop_a.client.get(url("ticket-list"), REMOTE_ADDR="203.0.113.8").status_code == 200


def test_wrong_staff_tokens_are_throttled_per_address_and_per_prefix():
    ops = staff("operations")
    token = Token.objects.get(user=ops.user).key
    path = url("staff-queue")

    def with_token(key: str, address: str):
        from rest_framework.test import APIClient

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.get(path, REMOTE_ADDR=address)

    for i in range(LIMIT):
        assert_error(with_token(f"{token[:8]}{'0' * 32}{i}"[:40], "192.0.2.1"), 401, "authentication_failed")
    assert_error(with_token("f" * 40, "192.0.2.1"), 429, "throttled")  # this address
    assert_error(with_token(f"{token[:8]}{'1' * 32}", "192.0.2.2"), 429, "throttled")  # this prefix
    assert with_token("e" * 40, "192.0.2.3").status_code == 401  # another address and prefix: just wrong


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "", "10.0.0.5", "10.0.0.5"),
        (0, "1.2.3.4", "10.0.0.5", "10.0.0.5"),  # no trusted proxy: the header is the client's own text
        (1, "203.0.113.9", "10.0.0.5", "203.0.113.9"),  # nginx appended the address it saw
        (1, "1.2.3.4, 203.0.113.9", "10.0.0.5", "203.0.113.9"),  # a spoofed entry on the left is ignored
        (2, "1.2.3.4, 203.0.113.9, 10.0.0.9", "10.0.0.5", "203.0.113.9"),  # CDN then nginx
        (2, "203.0.113.9", "10.0.0.5", "203.0.113.9"),  # fewer entries than proxies: the leftmost
    ],
)
def test_the_client_address_comes_from_the_trusted_proxies(rf, settings, proxies, forwarded, remote, expected):
    settings.KEFU_TRUSTED_PROXY_COUNT = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    assert client_address(rf.get("/", REMOTE_ADDR=remote, **extra)) == expected


def test_behind_one_proxy_a_spoofed_forwarded_for_does_not_escape_the_throttle(shop_a, settings):
    settings.KEFU_TRUSTED_PROXY_COUNT = 1
    path = url("ticket-list")
    for i in range(LIMIT):
        forwarded = f"10.9.9.{i}, 203.0.113.50"  # the client writes a new address each time; nginx appends its own
        storefront_client(f"kefu_x{i}_y").get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded)
    spoofed = storefront_client("kefu_z_y").get(
        path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.200, 203.0.113.50"
    )
    assert_error(spoofed, 429, "throttled")
    # Another real client behind the same proxy is not throttled.
    other = storefront_client("kefu_z_y").get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.51")
    assert_error(other, 401, "authentication_failed")


def test_drf_rate_throttles_count_anonymous_clients_by_the_trusted_address(settings, monkeypatch):
    from api.throttling import AnonymousRateThrottle

    settings.KEFU_TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(AnonymousRateThrottle, "THROTTLE_RATES", {"anonymous": "2/min"})
    from rest_framework.test import APIClient

    client = APIClient()
    path = "/api/v1/no-such-endpoint/"  # open to anonymous callers, so the anonymous rate applies
    for i in range(2):
        assert (
            client.get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 203.0.113.60").status_code == 404
        )
    third = client.get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.9, 203.0.113.60")
    assert_error(third, 429, "throttled")
    assert client.get(path, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.61").status_code == 404


def _count_from_threads(threads: int, each: int) -> int:
    key = "kefu:test:atomic"
    barrier = threading.Barrier(threads)
    counts: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        mine = [window_count(key, 86400)[0] for _ in range(each)]  # a day: the run never spans two windows
        with lock:
            counts.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    # Every increment was counted once: the counts seen are exactly 1..N, none lost, none repeated.
    assert sorted(counts) == list(range(1, threads * each + 1))
    return len(counts)


def test_counters_lose_no_update_under_concurrency():
    cache.clear()
    assert _count_from_threads(16, 25) == 400


@requires_redis
def test_counters_lose_no_update_under_concurrency_on_redis(redis_url, settings):
    """The same with Redis as the cache (production): ``add`` then ``INCR``."""
    settings.CACHES = {
        "default": {
            "BACKEND": "kefu.core.cache.FailOpenRedisCache",
            "LOCATION": redis_url.rsplit("/", 1)[0] + "/13",
        }
    }
    cache.clear()
    try:
        assert _count_from_threads(16, 25) == 400
    finally:
        cache.clear()
