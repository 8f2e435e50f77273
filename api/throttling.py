"""Throttles, counted in the shared cache (Redis in production) with atomic counters.

Two kinds:

- Request rates per API key, per staff user and per anonymous client address (``KEFU_THROTTLE_*``): DRF throttle
  classes, counted in fixed windows of the rate's period (``cache.add`` then ``cache.incr``: concurrent requests
  never lose a count, unlike DRF's read-modify-write list of timestamps). A window admits at most the rate; a
  client may use one window's allowance at its end and the next one's at its start.
- Failed credentials (:func:`credentials_guard`): wrong API keys and staff tokens, counted per client address and
  per key prefix. After ``KEFU_AUTH_FAILURE_LIMIT`` failures within ``KEFU_AUTH_FAILURE_WINDOW_SECONDS`` that
  address, or that key prefix, gets 429 for the rest of the window, before its credentials are even read. Admin
  logins are counted by django-axes with the same limit and window (kefu/settings/web.py).

Clients are told apart by :func:`kefu.core.client_address.client_address` (``KEFU_TRUSTED_PROXY_COUNT``). While
the cache is unavailable nothing can be counted: every throttle lets requests through (kefu.core.cache).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.throttling import SimpleRateThrottle

from api.clients import StorefrontClient
from kefu.core.client_address import client_address


def window_count(key: str, period: int) -> tuple[int, float]:
    """Count one more event for ``key`` in the current window of ``period`` seconds: (count, seconds left).

    Atomic: ``add`` creates the window's counter at 1 or fails because it exists, then ``incr`` (Redis INCR)
    adds one. A count of 0 means the cache is unavailable (kefu.core.cache): nothing is known.
    """
    now = time.time()
    window = int(now // period)
    left = (window + 1) * period - now
    counter = f"{key}:{window}"
    if cache.add(counter, 1, timeout=period + 1):
        return 1, left
    try:
        return cache.incr(counter), left
    except ValueError:  # the counter expired between add and incr
        cache.add(counter, 1, timeout=period + 1)
        return 1, left


def window_peek(keys: list[str], period: int) -> tuple[int, float]:
    """The highest current-window count of ``keys`` without counting, in one cache call (0 when none, or when
    the cache is unavailable), and the seconds left in the window."""
    now = time.time()
    window = int(now // period)
    counts = cache.get_many([f"{key}:{window}" for key in keys])
    return max((int(count) for count in counts.values()), default=0), (window + 1) * period - now


class WindowRateThrottle(SimpleRateThrottle):
    """A DRF rate throttle counted with :func:`window_count` (atomic) instead of a list of timestamps."""

    num_requests: int  # set by SimpleRateThrottle.__init__ from the rate
    duration: int

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        count, self._left = window_count(key, self.duration)
        return count <= self.num_requests  # 0: the cache is down, let it through

    def wait(self) -> float:
        return self._left

    def get_ident(self, request) -> str:
        return client_address(request)


class ApiKeyRateThrottle(WindowRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, StorefrontClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.api_key.pk}


class StaffUserRateThrottle(WindowRateThrottle):
    scope = "staff_user"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, StorefrontClient) or not getattr(user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": user.pk}


class AnonymousRateThrottle(WindowRateThrottle):
    scope = "anonymous"

    def get_cache_key(self, request, view):
        if getattr(request.user, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _failure_keys(request, kind: str, prefix: str) -> list[str]:
    keys = [f"kefu:authfail:{kind}:addr:{client_address(request)}"]
    if prefix:
        keys.append(f"kefu:authfail:{kind}:prefix:{prefix}")
    return keys


@contextmanager
def credentials_guard(request, *, kind: str, prefix: str) -> Iterator[None]:
    """Refuse (429) credentials from an address, or for a key prefix, with too many recent failures; count a
    failure when the block raises ``AuthenticationFailed``.

    ``kind`` names the credential (``api_key``, ``token``); ``prefix`` is the part of the presented key that
    names the key, not its secret (empty: only the address is counted).
    """
    limit = settings.KEFU_AUTH_FAILURE_LIMIT
    period = settings.KEFU_AUTH_FAILURE_WINDOW_SECONDS
    keys = _failure_keys(request, kind, prefix)
    count, left = window_peek(keys, period)
    if count >= limit:
        raise exceptions.Throttled(
            wait=left,
            detail=_("Too many failed attempts with invalid credentials; try again later."),
        )
    try:
        yield
    except exceptions.AuthenticationFailed:
        for key in keys:
            window_count(key, period)
        raise
