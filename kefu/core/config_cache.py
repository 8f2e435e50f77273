"""Process-local snapshots of configuration tables that every ticket change reads.

Routing rules, deadline policies, departments, reason codes, notification channels, robots and templates
change a few times a day but are read on every ticket change: reading them from the database each time
was a third of the cost of opening a ticket. A :class:`ConfigSnapshot` loads its tables once per process
and keeps the result until one of them changes:

- in the process that made the change, at once (``post_save``/``post_delete`` of a watched model);
- in every other process, at the next read after the change commits, where the cache is shared (Redis in
  production): the change bumps a version number in the cache, which a process compares at most once per
  ``KEFU_CONFIG_CHECK_SECONDS`` (default 1 s);
- in any case after ``KEFU_CONFIG_MAX_AGE_SECONDS`` (default 60 s), also where the cache is not shared
  (the default local-memory cache of ``make run``).

Only configuration belongs here: nothing a ticket change itself writes (staff load, a department's round-robin
position, tickets) is kept in a snapshot. Who is on duty is kept only to skip work where nobody is
(``routing.config.departments_on_duty``, notification emails); whether a member can take a ticket is read under
their row lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")
logger = logging.getLogger(__name__)

_snapshots: list[ConfigSnapshot[Any]] = []


class ConfigSnapshot(Generic[T]):
    """``load()``'s result, shared by the threads of a process, reloaded when a watched model changes."""

    def __init__(self, name: str, load: Callable[[], T], *, watch: tuple[str, ...]) -> None:
        self.name = name
        self._load = load
        self._watch = watch
        self._key = f"kefu:config:{name}:version"
        self._lock = threading.Lock()
        # (value, shared version it was loaded at, loaded at, last compared at) — replaced as a whole.
        self._state: tuple[T, object, float, float] | None = None
        _snapshots.append(self)

    def get(self) -> T:
        state = self._state
        now = time.monotonic()
        if state is not None:
            value, version, loaded_at, checked_at = state
            if now - loaded_at < settings.KEFU_CONFIG_MAX_AGE_SECONDS:
                if now - checked_at < settings.KEFU_CONFIG_CHECK_SECONDS:
                    return value
                if self._shared_version() == version:
                    self._state = (value, version, loaded_at, now)
                    return value
        return self._reload()

    def _shared_version(self) -> object:
        try:
            return cache.get(self._key)
        except Exception:  # noqa: BLE001 - a cache outage must not stop ticket changes; reload instead
            return object()

    def _reload(self) -> T:
        with self._lock:
            version = self._shared_version()
            value = self._load()
            now = time.monotonic()
            self._state = (value, version, now, now)
            return value

    def invalidate(self) -> None:
        """Forget this process's copy (the next read loads the tables again)."""
        self._state = None

    def changed(self, **_kwargs: Any) -> None:
        """A watched table changed: reload here now, and everywhere once the change commits."""
        self.invalidate()
        transaction.on_commit(self._publish, robust=True)

    def _publish(self) -> None:
        self.invalidate()
        try:
            cache.set(self._key, time.time_ns(), timeout=None)
        except Exception:  # noqa: BLE001 - other processes then reload within KEFU_CONFIG_MAX_AGE_SECONDS
            logger.warning("Could not publish a change of the %s configuration to the shared cache", self.name)

    def connect(self) -> None:
        """Watch the models (called from the owning app's ``ready()``)."""
        from django.apps import apps

        for label in self._watch:
            model = apps.get_model(label)
            post_save.connect(self.changed, sender=model, weak=False, dispatch_uid=f"{self._key}:save:{label}")
            post_delete.connect(self.changed, sender=model, weak=False, dispatch_uid=f"{self._key}:delete:{label}")
            for field in model._meta.local_many_to_many:
                m2m_changed.connect(
                    self.changed, sender=field.remote_field.through, weak=False, dispatch_uid=f"{self._key}:m2m:{label}"
                )


def invalidate_all() -> None:
    """Forget every snapshot of this process (tests start from the database's state)."""
    for snapshot in _snapshots:
        snapshot.invalidate()
