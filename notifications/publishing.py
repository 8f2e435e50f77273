"""Handing outbox ids to the delivery task on the broker: never raising, never waiting long for the broker,
and never inside the request that committed them.

The outbox row is the source of truth (docs/notifications.md, "The outbox guarantee"): a message that never
reaches the broker only leaves the row to the periodic relay (``relay_pending_notifications_task``, every
``KEFU_NOTIFY_RELAY_INTERVAL_SECONDS``). So publishing is an optimisation of delivery latency, and is allowed
to fail quietly:

- ``publish`` sends one message now, over broker connections that try once with short timeouts (Celery's own
  pool retries connecting for about 6 s on every call), and only logs when the broker cannot be reached. The
  worker uses it to schedule a retry at its backoff time.
- ``publish_on_commit`` hands ids over once the caller's transaction has committed. The on-commit callback
  only puts them on this process's queue; the process's publisher thread publishes whatever has gathered
  there within ``LINGER_SECONDS`` of the first, at most ``IDS_PER_MESSAGE`` ids a message. The request that
  made the change does not wait for the broker. Ids still queued when a process is killed are left to the
  periodic relay; at a normal interpreter exit the queue is published first.
- With ``task_always_eager`` (the demo without a broker, and tests) the task runs right after the commit, in
  the committing thread.

This module knows Celery, not notifications: the tasks module and the services both use it, and it imports
neither (no import cycle between them).
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from celery import Celery, Task
    from kombu.connection import ConnectionPool

logger = logging.getLogger(__name__)

# How long publishing may wait for the broker (connect and socket timeout of the publishing connections).
PUBLISH_TIMEOUT_SECONDS = 1.0
# The publisher thread merges what several commits queued; a message carries at most this many ids, so a burst
# of changes is still shared out between the workers (each message is delivered one id after the other).
IDS_PER_MESSAGE = 25
# How long the publisher thread lets commits' ids gather after the first, before it publishes them: it sleeps once
# per window rather than waking at every commit. A message costs the web process about 1 ms of CPU, a wake-up of
# the thread costs the request thread too (the GIL changes hands), and a webhook 100 ms later is as good as one now:
# at 140 openings a second per process this is 2 messages per 14 openings instead of 2 per 5 (docs/performance.md).
LINGER_SECONDS = 0.1

_publish_pools: dict[str, ConnectionPool] = {}
_publish_pools_lock = threading.Lock()


def _publish_pool(app: Celery) -> ConnectionPool:
    """Broker connections that give up at once when the broker is down.

    Celery's own pool retries connecting for ``broker_connection_timeout`` (about 6 s with its retry
    intervals) on every ``apply_async``, even with ``retry=False``: during a Redis outage every message would
    wait 6 s. These connections try once, with short socket timeouts. One pool per broker URL (tests point the
    app at another broker).
    """
    url = app.conf.broker_write_url
    with _publish_pools_lock:
        pool = _publish_pools.get(url)
        if pool is None:
            connection = app.connection_for_write(
                url,
                connect_timeout=PUBLISH_TIMEOUT_SECONDS,
                transport_options={
                    "max_retries": 0,
                    "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
                    "socket_timeout": PUBLISH_TIMEOUT_SECONDS,
                },
            )
            pool = _publish_pools[url] = connection.Pool(limit=app.conf.broker_pool_limit)
        return pool


def publish(task: Task, ids: list[int], *, countdown: float | None = None) -> bool:
    """Queue ``task(ids)`` (now, or in ``countdown`` seconds), one message per ``IDS_PER_MESSAGE`` ids.

    Never raises and never waits long for the broker; returns whether every message was queued. With
    ``task_always_eager`` the task runs here.
    """
    if not ids:
        return True
    app = task.app
    chunks = [ids[i : i + IDS_PER_MESSAGE] for i in range(0, len(ids), IDS_PER_MESSAGE)]
    try:
        if app.conf.task_always_eager:  # no broker: the task runs right here (demo and some tests)
            for chunk in chunks:
                task.apply_async((chunk,), countdown=countdown)
            return True
        with _publish_pool(app).acquire(block=True, timeout=PUBLISH_TIMEOUT_SECONDS) as connection:
            producer = app.amqp.Producer(connection, auto_declare=False)
            for chunk in chunks:
                task.apply_async((chunk,), countdown=countdown, retry=False, producer=producer)
    except Exception as exc:  # the broker is down or unreachable: the periodic relay will deliver
        logger.warning("%s: could not queue %s (%s); the periodic relay will deliver them", task.name, ids, exc)
        return False
    return True


class _Publisher:
    """This process's queue of ``(task, ids)`` and the daemon thread that publishes it."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[tuple[Task, list[int]]] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="kefu-outbox-publisher", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            first = self.queue.get()
            time.sleep(LINGER_SECONDS)  # one wake-up per window, whatever the number of commits in it
            self.publish_queued(first)

    def publish_queued(self, first: tuple[Task, list[int]] | None = None) -> None:
        """Publish ``first`` and whatever is queued behind it, merged per task (``publish`` splits each task's ids
        into messages of ``IDS_PER_MESSAGE``)."""
        gathered: dict[str, tuple[Task, list[int]]] = {}
        item = first
        while True:
            if item is None:
                try:
                    item = self.queue.get_nowait()
                except queue.Empty:
                    break
            task, ids = item
            gathered.setdefault(task.name, (task, []))[1].extend(ids)
            item = None
        for task, ids in gathered.values():
            publish(task, ids)


class _ThisProcess:
    """The publisher of the current process: started at first use, forgotten in a forked child (a thread does
    not survive ``fork``; gunicorn and Celery's prefork pool fork after importing this)."""

    lock = threading.Lock()
    publisher: _Publisher | None = None

    @classmethod
    def get(cls) -> _Publisher:
        with cls.lock:
            if cls.publisher is None:
                cls.publisher = _Publisher()
            return cls.publisher

    @classmethod
    def forget(cls) -> None:
        cls.lock = threading.Lock()
        cls.publisher = None

    @classmethod
    def publish_at_exit(cls) -> None:
        if cls.publisher is not None:
            cls.publisher.publish_queued()


os.register_at_fork(after_in_child=_ThisProcess.forget)
atexit.register(_ThisProcess.publish_at_exit)


def publish_on_commit(task: Task, ids: list[int]) -> None:
    """After the caller's transaction commits, have ``task(ids)`` published by this process's publisher thread
    (with ``task_always_eager``: run here, right after the commit). Nothing if the transaction rolls back.
    """
    if ids:
        transaction.on_commit(lambda: _hand_over(task, ids), robust=True)


def _hand_over(task: Task, ids: list[int]) -> None:
    if task.app.conf.task_always_eager:
        publish(task, ids)
    else:
        _ThisProcess.get().queue.put((task, ids))
