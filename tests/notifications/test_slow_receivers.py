"""A slow or huge answer costs its own delivery, nothing more (issue 12, "Slow endpoints hold locks").

A receiver trickling its answer one byte a second used to keep the relay batch's row locks for as long as it
trickled, and a huge answer grew the worker to about 1 GB. Now a delivery is claimed under a lease and sent
outside any transaction, the request has one total deadline, and the answer's body is read up to a bound:

- one endpoint trickles a byte a second while 1,000 deliveries to a healthy receiver all complete; the slow one
  fails at the total deadline, and while it is being sent its outbox row is locked by nobody (another connection
  locks it with NOWAIT, and PostgreSQL lists no lock of the sending connection on the outbox);
- an endpoint answering an endless body costs the worker a bounded amount of memory.

Real HTTP servers on 127.0.0.1, PostgreSQL (the sender and the relay on connections of their own).
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import translation

from notifications.models import Notification, Status
from notifications.relay import notification_deliver, relay_pending
from tests.markers import requires_postgres
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.support import wait_until

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

HEALTHY = 1000
# Seconds: the total deadline of one outgoing request in these tests; long enough for the 1,000 healthy
# deliveries (about 5 s on a busy 2-core machine) to finish while the slow one trickles.
DEADLINE = 10.0


@contextmanager
def receiver(answer: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 whose POST handler is ``answer``; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                answer(self)
            except OSError:
                pass  # the client gave up (its deadline, its body limit)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kefu/webhook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def healthy_backlog(url: str, count: int) -> list[str]:
    """``count`` pending webhooks of one ticket to ``url`` (one real change, the rest copies of its row)."""
    row = Notification.objects.get(ticket=open_return(webhook_shop(url)))
    copies = []
    for n in range(count - 1):
        copy = Notification.objects.get(pk=row.pk)
        copy.pk = None
        copy.dedup_key = f"{row.dedup_key[:30]}-{n:06d}"
        copy.payload = {**row.payload, "id": copy.dedup_key}
        copies.append(copy)
    Notification.objects.bulk_create(copies, batch_size=500)
    return [row.dedup_key] + [c.dedup_key for c in copies]


def locks_of_backend(pid: int) -> list[str]:
    """The relations the PostgreSQL backend ``pid`` holds locks on (from pg_locks)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = %s", [pid])
        return [name for (name,) in cursor.fetchall()]


def test_a_receiver_trickling_a_byte_a_second_fails_at_the_deadline_holding_no_lock_while_1000_others_go(
    settings, storefront
) -> None:
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = DEADLINE
    trickling = threading.Event()

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        trickling.set()
        for _ in range(1000):  # a byte a second: never a read timeout, only the total deadline ends it
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(1)

    with receiver(trickle) as slow_url:
        slow = Notification.objects.get(ticket=open_return(webhook_shop(slow_url)))
        keys = healthy_backlog(storefront.url, HEALTHY)
        sender: dict[str, Any] = {}

        def send_the_slow_one() -> None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                sender["pid"] = cursor.fetchone()[0]
            started = time.monotonic()
            with translation.override("en"):  # last_error in the msgid's language, as in the test's own thread
                sender["outcome"] = notification_deliver(notification_id=slow.pk)
            sender["ended"] = time.monotonic()
            sender["seconds"] = sender["ended"] - started
            connection.close()

        thread = threading.Thread(target=send_the_slow_one)
        thread.start()
        try:
            assert trickling.wait(10), "the slow delivery did not start"
            # While it is being sent: its row is leased, and nobody holds a lock on it or on the outbox.
            leased = Notification.objects.get(pk=slow.pk)
            assert leased.lease_owner and leased.status == Status.PENDING
            with transaction.atomic():
                assert Notification.objects.select_for_update(nowait=True).filter(pk=slow.pk).exists()
            assert not [name for name in locks_of_backend(sender["pid"]) if name.startswith("notifications_")]

            started = time.monotonic()
            result = relay_pending(limit=2 * HEALTHY)  # the slow one is leased: the relay leaves it alone
            relayed = time.monotonic()
        finally:
            thread.join(DEADLINE + 10)
    assert not thread.is_alive()

    assert (result.sent, result.failed, result.dead) == (HEALTHY, 0, 0)
    received = Counter(storefront.deliveries(status=200))
    assert set(received) == set(keys) and set(received.values()) == {1}  # each exactly once
    # The healthy deliveries all went while the slow one trickled (they did not wait for it).
    assert relayed < sender["ended"], f"relay {relayed - started:.1f} s, slow one {sender['ended'] - started:.1f} s"

    assert sender["outcome"] == "failed"
    assert DEADLINE - 0.5 <= sender["seconds"] <= DEADLINE + 2.0, sender
    slow.refresh_from_db()
    assert (slow.status, slow.attempts, slow.lease_owner) == (Status.PENDING, 1, "")
    assert f"no complete answer within {DEADLINE} s" in slow.last_error


def test_an_endless_answer_is_read_only_up_to_the_body_limit(settings) -> None:
    settings.KEFU_OUTBOUND_MAX_BODY_BYTES = 64 * 1024
    streamed = {"bytes": 0}

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Connection", "close")  # no length: the body ends when the server closes
        handler.end_headers()
        chunk = b"x" * 65536
        for _ in range(16 * 1024):  # up to 1 GiB, as the receiver that grew the worker did
            handler.wfile.write(chunk)
            streamed["bytes"] += len(chunk)

    with receiver(endless) as url:
        row = Notification.objects.get(ticket=open_return(webhook_shop(url)))
        tracemalloc.start()
        try:
            outcome = notification_deliver(notification_id=row.pk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        wait_until(lambda: streamed["bytes"], timeout=5, what="the server to stream")

    assert outcome == "failed"
    assert peak < 4 * 1024 * 1024, f"the delivery allocated {peak} bytes at its peak"
    assert streamed["bytes"] < 64 * 1024 * 1024  # the worker stopped reading long before the end
    row.refresh_from_db()
    assert "body over 65536 bytes" in row.last_error
