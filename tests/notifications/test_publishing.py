"""Handing committed outbox rows to the delivery task (notifications.publishing).

After the commit the ids go to ``deliver_notifications_task`` from the process's publisher thread, not from the
thread that committed (a request does not wait for the broker); what one message carries is capped, and every
committed row is named by some message. A rolled-back change publishes nothing. Real commits on kombu's
in-memory broker (a transport of this process), read back with kombu.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.db import transaction

from kefu import celery_app
from notifications import publishing
from notifications.models import Notification
from notifications.tasks import deliver_notifications_task
from tests.factories.tickets import order_with_line
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.support import kefu_app_on, wait_until

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TASK = "notifications.tasks.deliver_notifications_task"


class Boom(Exception):
    pass


@pytest.fixture
def published() -> Iterator[list[tuple[str, list[int]]]]:
    """(publishing thread's name, ids) of every deliver_notifications_task message, on an in-memory broker."""
    seen: list[tuple[str, list[int]]] = []

    def record(sender: str | None = None, body: Any = None, **kwargs: Any) -> None:
        if sender == TASK:
            seen.append((threading.current_thread().name, list(body[0][0])))

    before_task_publish.connect(record, weak=False)
    try:
        with kefu_app_on("memory://"):
            yield seen
            with celery_app.connection_for_read() as connection:  # empty the in-memory queue for the next test
                connection.default_channel.queue_purge("celery")
    finally:
        before_task_publish.disconnect(record)


def test_committed_rows_are_published_after_the_commit_from_the_publisher_thread(published) -> None:
    shop = webhook_shop("https://shop.example.com/kefu/webhook")
    with transaction.atomic():
        tickets = [open_return(order=order_with_line(shop=shop)) for _ in range(3)]
        assert published == []  # nothing before the commit
    rows = set(Notification.objects.filter(ticket__in=tickets).values_list("pk", flat=True))
    assert len(rows) == 3

    wait_until(lambda: {pk for _, ids in published for pk in ids} == rows, timeout=10, what="the publisher thread")
    assert {name for name, _ in published} == {"kefu-outbox-publisher"}
    assert len(published) <= 3  # merged where the thread found several commits' ids queued

    with pytest.raises(Boom), transaction.atomic():
        open_return(order=order_with_line(shop=shop))
        raise Boom
    open_return(order=order_with_line(shop=shop))  # a later commit: its ids follow the earlier ones
    last = Notification.objects.latest("pk").pk
    wait_until(lambda: any(last in ids for _, ids in published), timeout=10, what="the later commit")
    assert {pk for _, ids in published for pk in ids} == rows | {last}  # nothing of the rolled-back change


def test_a_message_names_at_most_ids_per_message_rows(published) -> None:
    ids = list(range(10_000, 10_000 + 2 * publishing.IDS_PER_MESSAGE + 3))
    assert publishing.publish(deliver_notifications_task, ids)
    assert [len(chunk) for _, chunk in published] == [publishing.IDS_PER_MESSAGE, publishing.IDS_PER_MESSAGE, 3]
    assert [pk for _, chunk in published for pk in chunk] == ids


def test_ids_queued_while_the_publisher_lingers_go_in_one_message(published) -> None:
    publisher = publishing._Publisher.__new__(publishing._Publisher)  # its queue, without its thread
    publisher.queue = publishing.queue.SimpleQueue()
    later = threading.Timer(0.05, lambda: publisher.queue.put((deliver_notifications_task, [20_002])))
    later.start()
    publisher.publish_queued((deliver_notifications_task, [20_001]), linger=2.0)
    assert [chunk for _, chunk in published] == [[20_001, 20_002]]
    # A message's worth of ids stops the wait: the full message goes at once.
    full = list(range(30_000, 30_000 + publishing.IDS_PER_MESSAGE))
    publisher.publish_queued((deliver_notifications_task, full), linger=60.0)
    assert [chunk for _, chunk in published][1:] == [full]
    # Without lingering only what is already queued goes with the first.
    later = threading.Timer(0.2, lambda: publisher.queue.put((deliver_notifications_task, [40_002])))
    later.start()
    publisher.publish_queued((deliver_notifications_task, [40_001]), linger=0.0)
    later.join()
    assert [chunk for _, chunk in published][2:] == [[40_001]]
