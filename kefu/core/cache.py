"""The shared cache (Redis in production) as a helper that fails open: when Redis is down, kefu keeps working.

Everything kefu keeps in the shared cache only *helps*: throttle counters, the configuration snapshots' version
numbers (kefu.core.config_cache), failed-login counters (django-axes). None of it is the record of anything: the
database is. So when Redis is stopped, unreachable or slow, :class:`FailOpenRedisCache` answers every call as a
cache that holds nothing and keeps nothing would (``get`` gives the default, ``add``/``set``/``delete`` keep
nothing, ``incr`` counts 0), after a short socket timeout, instead of raising ``ConnectionError`` into the request
(an HTML 500 from the throttle before this).

- After a failure the cache is not asked again for ``KEFU_CACHE_RETRY_SECONDS`` (default 5 s): requests during
  an outage do not each wait for a connection timeout.
- The outage is logged as one warning when it starts, then at most one a minute (``WARNING_EVERY_SECONDS``) with
  the number of calls answered without the cache, and once when Redis answers again: not one line per request.
- The state is per process and per cache location, shared by the threads (Django gives each thread its own
  backend object).

What the cache helps with then works as it would without it: throttles let requests through (they cannot count),
configuration is reloaded from the database at most every ``KEFU_CONFIG_MAX_AGE_SECONDS``.

kefu/settings/web.py puts this backend in place of Django's ``RedisCache`` when ``CACHE_URL`` is a Redis URL.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

WARNING_EVERY_SECONDS = 60.0
# What an unreachable cache raises: redis-py's errors, and the socket's own.
UNAVAILABLE = (redis.RedisError, OSError)

F = TypeVar("F", bound=Callable[..., Any])


class _Outage:
    """Whether one cache location is down, for every thread of this process."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._lock = threading.Lock()
        self.down_until = 0.0  # time.monotonic() before which the cache is not asked
        self.down_since: float | None = None
        self.failed_calls = 0
        self.warned_at = 0.0

    def skip(self) -> bool:
        """True while the cache is known down: the call is answered without asking it."""
        if self.down_until and time.monotonic() < self.down_until:
            with self._lock:
                self.failed_calls += 1
            return True
        return False

    def failed(self, operation: str, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self.failed_calls += 1
            self.down_until = now + settings.KEFU_CACHE_RETRY_SECONDS
            first = self.down_since is None
            if first:
                self.down_since = now
            if not first and now - self.warned_at < WARNING_EVERY_SECONDS:
                return
            self.warned_at = now
            calls, self.failed_calls = self.failed_calls, 0
        if first:
            logger.warning(
                "The cache at %s is unavailable (%s: %s); kefu carries on without it (throttles let requests "
                "through, configuration is read from the database) and asks it again every %.0f s",
                self.location,
                operation,
                exc,
                settings.KEFU_CACHE_RETRY_SECONDS,
            )
        else:
            logger.warning(
                "The cache at %s is still unavailable (%s); %d calls answered without it since the last warning",
                self.location,
                exc,
                calls,
            )

    def succeeded(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            if self.down_since is None:
                return
            seconds = time.monotonic() - self.down_since
            self.down_since = None
            self.down_until = 0.0
            calls, self.failed_calls = self.failed_calls, 0
        logger.warning(
            "The cache at %s answers again after %.0f s; %d calls were answered without it",
            self.location,
            seconds,
            calls,
        )


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage(location))


def _fail_open(fallback: Callable[..., Any]) -> Callable[[F], F]:
    """Run the cache call; while the cache is down, or when it fails, return ``fallback(*args, **kwargs)``."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: FailOpenRedisCache, *args: Any, **kwargs: Any) -> Any:
            outage = self._outage
            if outage.skip():
                return fallback(*args, **kwargs)
            try:
                result = method(self, *args, **kwargs)
            except UNAVAILABLE as exc:
                outage.failed(method.__name__, exc)
                return fallback(*args, **kwargs)
            outage.succeeded()
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _default(key: Any, default: Any = None, *args: Any, **kwargs: Any) -> Any:
    return default


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


def _empty(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def _all_keys_failed(data: dict[str, Any], *args: Any, **kwargs: Any) -> list[str]:
    return list(data)


class FailOpenRedisCache(RedisCache):
    """Django's Redis cache, answering as an empty cache that keeps nothing while Redis is unavailable.

    ``incr``/``decr`` answer 0 then (a count is never 0 after an increment of a key that exists): callers that
    count (throttles) read 0 as "not known" and let the request through.
    """

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._outage = _outage(server if isinstance(server, str) else ",".join(server))

    get = _fail_open(_default)(RedisCache.get)
    get_many = _fail_open(_empty)(RedisCache.get_many)
    has_key = _fail_open(_false)(RedisCache.has_key)
    add = _fail_open(_false)(RedisCache.add)
    set = _fail_open(_nothing)(RedisCache.set)
    set_many = _fail_open(_all_keys_failed)(RedisCache.set_many)
    touch = _fail_open(_false)(RedisCache.touch)
    delete = _fail_open(_false)(RedisCache.delete)
    delete_many = _fail_open(_nothing)(RedisCache.delete_many)
    incr = _fail_open(_zero)(RedisCache.incr)
    decr = _fail_open(_zero)(RedisCache.decr)
    clear = _fail_open(_false)(RedisCache.clear)
