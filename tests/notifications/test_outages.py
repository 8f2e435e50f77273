"""Nothing is lost when the broker or a worker goes down (SPEC "Notifications", issue 4).

- The private Redis is stopped while 200 tickets change: every change commits at once without an error,
  the outbox keeps the 200 messages, and once Redis is back a worker running the periodic relay (the beat
  job) delivers each exactly once, counted by de-duplication key at the storefront.
- A worker process is SIGKILLed while the storefront holds its request: the row it had leased (and not
  locked) stays pending, and once the lease expires a new worker delivers it.

PostgreSQL (workers on other connections and in other processes) and a private ``redis-server``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.tasks import relay_pending_notifications_task
from orders.models import Buyer, Order, OrderLine, Shop
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory
from tests.markers import requires_postgres
from tests.notifications.conftest import SECRET, open_return, webhook_shop
from tests.notifications.support import signature_valid, wait_until, worker_process, worker_thread
from tickets.models import Ticket

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHANGES = 200
# A ticket change takes some tens of milliseconds here; one that waited for the dead broker (Celery retries
# connecting for about 6 s by default) would blow this.
MAX_SECONDS_PER_CHANGE = 1.0


def delivered_orders(shop: Shop, count: int) -> list[Order]:
    """``count`` delivered orders of the shop, one line of SKU-A each, written in three bulk inserts."""
    buyers = Buyer.objects.bulk_create(BuyerFactory.build_batch(count, shop=shop))
    orders = Order.objects.bulk_create([OrderFactory.build(shop=shop, buyer=buyer) for buyer in buyers])
    OrderLine.objects.bulk_create([OrderLineFactory.build(order=order, sku="SKU-A") for order in orders])
    return orders


def test_ticket_changes_while_the_broker_is_down_commit_at_once_and_are_all_delivered_once_it_is_back(
    broker, storefront
) -> None:
    shop = webhook_shop(storefront.url)
    orders = delivered_orders(shop, CHANGES)

    broker.stop()
    took = []
    for order in orders:
        started = time.perf_counter()
        open_return(order=order)  # commits; must not raise
        took.append(time.perf_counter() - started)
        assert took[-1] < MAX_SECONDS_PER_CHANGE, f"change {len(took)} took {took[-1]:.2f} s with the broker down"

    assert Ticket.objects.filter(shop=shop).count() == CHANGES
    outbox = Notification.objects.filter(ticket__shop=shop)
    assert outbox.count() == CHANGES
    assert set(outbox.values_list("status", flat=True)) == {Status.PENDING}
    assert storefront.hits == []

    broker.start()
    with worker_thread():
        relay_pending_notifications_task.delay()  # what beat sends every KEFU_NOTIFY_RELAY_INTERVAL_SECONDS
        wait_until(lambda: not outbox.filter(status=Status.PENDING).exists(), timeout=60, what="the relay")

    received = Counter(storefront.deliveries())
    assert len(received) == CHANGES
    assert received.most_common(1)[0][1] == 1, f"delivered twice: {[k for k, n in received.items() if n > 1]}"
    assert set(received) == set(outbox.values_list("dedup_key", flat=True))
    assert set(outbox.values_list("status", flat=True)) == {Status.SENT}
    assert all(signature_valid(hit, SECRET) for hit in storefront.hits)


def lock_free(pk: int) -> bool:
    """Whether nobody holds the outbox row's lock (NOWAIT fails at once if somebody does)."""
    try:
        with transaction.atomic():
            Notification.objects.select_for_update(nowait=True).filter(pk=pk).exists()
    except DatabaseError:
        return False
    return True


def test_a_worker_killed_while_delivering_leaves_the_message_pending_and_a_new_worker_delivers_it(
    broker, storefront
) -> None:
    storefront.hold_first = threading.Event()  # the first delivery hangs until the worker is dead
    ticket = open_return(webhook_shop(storefront.url))  # committed and queued on the private broker
    row = Notification.objects.get(ticket=ticket)
    lease = {"KEFU_NOTIFY_LEASE_SECONDS": "4"}

    with worker_process(broker.url, "doomed", env=lease) as doomed:
        wait_until(lambda: storefront.hits, timeout=180, what="the worker to start delivering")
        row.refresh_from_db()
        assert row.lease_owner and row.next_attempt_at > timezone.now()  # leased while it is being sent (not due),
        assert lock_free(row.pk)  # and holds no lock on it
        doomed.kill()

    # The dead worker's lease stays until it expires: the row is pending, the attempt it was making not counted.
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at) == (Status.PENDING, 0, None)
    storefront.hold_first.set()
    wait_until(lambda: row.next_attempt_at < timezone.now(), timeout=10, what="the dead worker's lease to end")

    with worker_process(broker.url, "successor", env=lease):
        relay_pending_notifications_task.delay()
        wait_until(
            lambda: Notification.objects.filter(pk=row.pk, status=Status.SENT).exists(),
            timeout=60,
            what="the new worker to deliver",
        )

    assert storefront.deliveries() == [row.dedup_key, row.dedup_key]  # delivered again, same key
    assert signature_valid(storefront.hits[1], SECRET)
    row.refresh_from_db()
    assert (row.attempts, row.lease_owner) == (1, "")
