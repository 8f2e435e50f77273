"""Handing committed outbox rows to the delivery task (notifications.publishing).

After the commit the ids go to ``deliver_notifications_task`` from the process's publisher thread, not from the
thread that committed (a request does not wait for the broker); what one message carries is capped, and every
committed row is named by some message. A rolled-back change publishes nothing. Real commits on kombu's
in-memory broker (a transport of this process), read back with kombu.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from celery.signals import before_task_publish
from django.db import transaction

from kefu import celery_app
from notifications import publishing
from notifications.models import Notification
from notifications.tasks import deliver_notifications_task
from risk.tasks import ticket_opened_task as risk_ticket_opened_task
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


def test_ids_queued_while_the_publisher_lingers_go_in_one_message_per_task(published) -> None:
    publisher = publishing._Publisher.__new__(publishing._Publisher)  # its queue, without its thread
    publisher.queue = publishing.queue.SimpleQueue()
    for pk in (20_002, 20_003):  # commits that came while the thread slept after the first
        publisher.queue.put((deliver_notifications_task, [pk]))
    publisher.queue.put((risk_ticket_opened_task, [20_900]))
    publisher.publish_queued((deliver_notifications_task, [20_001]))
    assert [chunk for _, chunk in published] == [[20_001, 20_002, 20_003]]  # one message for the three commits
    # More than a message's worth: split, in order.
    many = list(range(30_000, 30_000 + publishing.IDS_PER_MESSAGE + 1))
    publisher.publish_queued((deliver_notifications_task, many))
    assert [chunk for _, chunk in published][1:] == [many[:-1], many[-1:]]


def test_the_publisher_thread_wakes_once_per_window_not_at_every_commit(published, monkeypatch) -> None:
    """Ten commits spread over the window go out as one message: the thread slept through them."""
    monkeypatch.setattr(publishing, "LINGER_SECONDS", 0.5)
    publisher = publishing._Publisher()
    for pk in range(50_000, 50_010):
        publisher.queue.put((deliver_notifications_task, [pk]))
        time.sleep(0.02)
    wait_until(lambda: len(published) >= 1, timeout=10, what="the publisher thread")
    time.sleep(0.1)
    assert [chunk for _, chunk in published] == [list(range(50_000, 50_010))]
