"""API keys verified once per process (api/key_cache.py): later requests with the key authenticate without a
query, a revoked key is refused at once in the process that revoked it and within the TTL everywhere, a wrong
secret is never let through by the cache, and ``last_used_at`` is still written at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import exceptions

from api.auth import ApiKeyAuthentication
from api.clients import StorefrontClient
from api.key_cache import VerifiedKeys, verified_keys
from api.models import ApiKey
from tests.api.conftest import storefront_client, url

pytestmark = pytest.mark.django_db


def authenticate(raw: str) -> StorefrontClient:
    request = RequestFactory().get("/api/v1/tickets/", HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client, _ = ApiKeyAuthentication().authenticate(request)
    return client


def revoke_elsewhere(key: ApiKey) -> None:
    """As another process would: the row changes, no signal reaches this one."""
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())


def test_a_verified_key_answers_again_without_a_query(shop_a, django_assert_num_queries):
    with django_assert_num_queries(2):  # the key and its shop, and the first last_used_at
        first = authenticate(shop_a.raw)
    with django_assert_num_queries(0):
        again = authenticate(shop_a.raw)
    assert again.shop.pk == first.shop.pk == shop_a.shop.pk and again.api_key.pk == shop_a.key.pk


def test_the_cache_is_keyed_by_a_hash_of_the_key_not_the_key(shop_a):
    authenticate(shop_a.raw)
    assert [len(digest) for digest in verified_keys._entries] == [32]
    assert shop_a.raw.encode() not in b"".join(verified_keys._entries)


def test_a_wrong_secret_with_the_right_prefix_is_refused_while_the_right_key_is_cached(shop_a):
    authenticate(shop_a.raw)
    wrong = shop_a.raw[:-4] + ("aaaa" if not shop_a.raw.endswith("aaaa") else "bbbb")
    with pytest.raises(exceptions.AuthenticationFailed, match="Invalid API key"):
        authenticate(wrong)
    response = storefront_client(wrong).get(url("ticket-list"))
    assert response.status_code == 401


def test_a_key_revoked_in_another_process_is_refused_after_the_ttl(shop_a, settings):
    settings.KEFU_API_KEY_CACHE_SECONDS = 30
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert shop_a.client.get(url("ticket-list")).status_code == 200
        revoke_elsewhere(shop_a.key)
        traveller.shift(timedelta(seconds=29))
        assert shop_a.client.get(url("ticket-list")).status_code == 200  # the documented bound, not yet past
        traveller.shift(timedelta(seconds=2))
        response = shop_a.client.get(url("ticket-list"))
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_a_key_revoked_by_a_save_in_this_process_is_refused_at_once(shop_a):
    assert shop_a.client.get(url("ticket-list")).status_code == 200
    shop_a.key.revoked_at = timezone.now()
    shop_a.key.save(update_fields=["revoked_at"])
    assert shop_a.client.get(url("ticket-list")).status_code == 401


def test_a_key_revoked_in_the_admin_is_refused_at_once(shop_a, admin_client):
    assert shop_a.client.get(url("ticket-list")).status_code == 200
    admin_client.post(
        "/admin/api/apikey/", {"action": "revoke", "_selected_action": [shop_a.key.pk], "index": 0}, follow=True
    )
    shop_a.key.refresh_from_db()
    assert shop_a.key.revoked_at is not None
    assert shop_a.client.get(url("ticket-list")).status_code == 401


def test_a_change_of_the_shop_in_this_process_is_seen_at_once(shop_a):
    authenticate(shop_a.raw)
    shop_a.shop.name = "Renamed"
    shop_a.shop.save(update_fields=["name"])
    assert authenticate(shop_a.raw).shop.name == "Renamed"


def test_with_a_ttl_of_zero_every_request_reads_the_key(shop_a, settings, django_assert_num_queries):
    settings.KEFU_API_KEY_CACHE_SECONDS = 0
    authenticate(shop_a.raw)
    with django_assert_num_queries(1):
        authenticate(shop_a.raw)


def test_last_used_at_is_written_at_most_once_a_minute(shop_a, settings, django_assert_num_queries):
    settings.KEFU_API_KEY_CACHE_SECONDS = 3600  # the key stays cached: no read tells when it was last written
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        authenticate(shop_a.raw)
        shop_a.key.refresh_from_db()
        assert shop_a.key.last_used_at == start
        traveller.shift(timedelta(seconds=59))
        with django_assert_num_queries(0):
            authenticate(shop_a.raw)
        traveller.shift(timedelta(seconds=2))
        with django_assert_num_queries(1):  # the write, no read
            authenticate(shop_a.raw)
        shop_a.key.refresh_from_db()
        assert shop_a.key.last_used_at == start + timedelta(seconds=61)
        with django_assert_num_queries(0):
            authenticate(shop_a.raw)


def test_a_last_used_at_written_by_another_process_this_minute_is_left_alone(shop_a, settings):
    settings.KEFU_API_KEY_CACHE_SECONDS = 3600
    start = timezone.now()
    with time_machine.travel(start, tick=False) as traveller:
        authenticate(shop_a.raw)
        traveller.shift(timedelta(seconds=61))
        other = start + timedelta(seconds=50)
        ApiKey.objects.filter(pk=shop_a.key.pk).update(last_used_at=other)  # another process's request
        authenticate(shop_a.raw)
    shop_a.key.refresh_from_db()
    assert shop_a.key.last_used_at == other


def test_the_least_recently_used_key_leaves_a_full_cache(shop_a, shop_b):
    keys = VerifiedKeys(max_entries=2)
    _, raw_c = ApiKey.issue(shop=shop_a.shop, name="third")
    clients = {raw: authenticate(raw) for raw in (shop_a.raw, shop_b.raw, raw_c)}
    keys.put(shop_a.raw, clients[shop_a.raw])
    keys.put(shop_b.raw, clients[shop_b.raw])
    assert keys.get(shop_a.raw) is not None  # now the most recently used
    keys.put(raw_c, clients[raw_c])
    assert keys.get(shop_b.raw) is None
    assert keys.get(shop_a.raw) is not None and keys.get(raw_c) is not None
