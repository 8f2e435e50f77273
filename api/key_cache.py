"""Process-local cache of verified storefront API keys, so a storefront request costs no query to authenticate.

Every storefront request presents its API key; reading the key and its shop and comparing the secret's hash
took about 1 ms of the request (a query). A key verified once is kept here, per process, with the shop and key
objects the request's :class:`~api.clients.StorefrontClient` holds:

- keyed by the SHA-256 of the full presented key, never the key itself; a key with the right prefix and a wrong
  secret hashes elsewhere, misses, and is checked against the database (and refused) as before;
- for ``KEFU_API_KEY_CACHE_SECONDS`` (default 30 s; 0 turns the cache off): a key revoked in another process is
  refused there within that time at the latest;
- forgotten at once in the process that saves or deletes the key or saves its shop (``post_save`` and
  ``post_delete``, again when the transaction commits) and that revokes it in the admin (a queryset update,
  which sends no signal: ``api.admin``);
- at most :data:`MAX_ENTRIES` keys, the least recently used leaving first.

Refusals are not kept: an unknown, wrong or revoked key is read from the database on every request.

``last_used_at`` is written at most once a minute per key and process, from the time this process last wrote
or read it (no read per request); the write itself only changes a row not written in the last minute, so
several processes still write it at most once a minute between them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import ApiKey

if TYPE_CHECKING:
    from api.clients import StorefrontClient

MAX_ENTRIES = 4096
LAST_USED_EVERY_SECONDS = 60


class _Entry:
    __slots__ = ("client", "verified_at", "last_used")

    def __init__(self, client: StorefrontClient, verified_at: float, last_used: float | None) -> None:
        self.client = client
        self.verified_at = verified_at  # time.time() when the key was read and its secret compared
        self.last_used = last_used  # last_used_at as this process last wrote or read it (epoch seconds)


class VerifiedKeys:
    """The keys this process verified, shared by its threads (one lock around the ordered dict)."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _digest(raw: str) -> bytes:
        return hashlib.sha256(raw.encode()).digest()

    def get(self, raw: str) -> StorefrontClient | None:
        """The client of ``raw`` if it was verified less than the TTL ago, and its ``last_used_at`` written
        if a minute has passed; ``None`` when it must be read from the database."""
        ttl = settings.KEFU_API_KEY_CACHE_SECONDS
        if ttl <= 0:
            return None
        digest = self._digest(raw)
        now = time.time()
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if not 0 <= now - entry.verified_at < ttl:  # expired, or the clock went back
                del self._entries[digest]
                return None
            self._entries.move_to_end(digest)
        self._touch(entry, now)
        return entry.client

    def put(self, raw: str, client: StorefrontClient) -> None:
        """Keep ``client``, whose key ``raw`` was just read and verified (active, right secret)."""
        key = client.api_key
        entry = _Entry(client, time.time(), key.last_used_at.timestamp() if key.last_used_at else None)
        self._touch(entry, entry.verified_at)
        if settings.KEFU_API_KEY_CACHE_SECONDS <= 0:
            return
        digest = self._digest(raw)
        with self._lock:
            self._entries[digest] = entry
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    @staticmethod
    def _touch(entry: _Entry, now: float) -> None:
        """Write the key's ``last_used_at`` if this process has not seen it written in the last minute."""
        if entry.last_used is not None and now - entry.last_used <= LAST_USED_EVERY_SECONDS:
            return
        entry.last_used = now
        at = timezone.now()
        # Only a row not written in the last minute (by any process): one write a minute per key in all.
        ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=at - timedelta(seconds=LAST_USED_EVERY_SECONDS)),
            pk=entry.client.api_key.pk,
        ).update(last_used_at=at)

    def forget(self, *, key_id: int | None = None, shop_id: int | None = None) -> None:
        """Drop the entries of one key or of every key of one shop (a scan: keys and shops change rarely)."""
        with self._lock:
            for digest, entry in list(self._entries.items()):
                if entry.client.api_key.pk == key_id or entry.client.shop.pk == shop_id:
                    del self._entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_keys = VerifiedKeys()


def forget_key(key_id: int) -> None:
    """A key changed (revoked, renamed, deleted): forget it now, and again once the change is committed
    (a request of this process in between may have read and kept the old row)."""
    verified_keys.forget(key_id=key_id)
    transaction.on_commit(lambda: verified_keys.forget(key_id=key_id), robust=True)


def forget_shop(shop_id: int) -> None:
    verified_keys.forget(shop_id=shop_id)
    transaction.on_commit(lambda: verified_keys.forget(shop_id=shop_id), robust=True)


def key_changed(sender, instance: ApiKey, **kwargs) -> None:
    forget_key(instance.pk)


def shop_changed(sender, instance, **kwargs) -> None:
    forget_shop(instance.pk)


def connect() -> None:
    """Watch ApiKey and Shop (called from ``ApiConfig.ready``)."""
    from django.db.models.signals import post_delete, post_save

    from orders.models import Shop

    post_save.connect(key_changed, sender=ApiKey, dispatch_uid="api.key_cache:key:save")
    post_delete.connect(key_changed, sender=ApiKey, dispatch_uid="api.key_cache:key:delete")
    post_save.connect(shop_changed, sender=Shop, dispatch_uid="api.key_cache:shop:save")
    post_delete.connect(shop_changed, sender=Shop, dispatch_uid="api.key_cache:shop:delete")
