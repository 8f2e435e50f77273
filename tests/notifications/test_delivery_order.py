"""A ticket's messages reach a receiver in the order of the changes (issue 12, "Webhooks for one ticket can arrive
out of order"), with the documented bound: an earlier message failing for longer than
KEFU_NOTIFY_ORDER_HOLD_SECONDS, or dead-lettered, no longer holds the later ones back.

The first test runs several real worker processes (``celery -A kefu worker``) on a private Redis against a
storefront that answers some messages slowly and fails some first attempts; the others run the relay in this
process. PostgreSQL for the workers (other processes on the test database).
"""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.relay import notification_deliver, relay_pending
from notifications.tasks import deliver_notifications_task
from tests.factories.tickets import buyer_actor, staff_actor
from tests.markers import requires_postgres
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.support import wait_until, worker_process, workers_answering
from tickets.services import ticket_act, ticket_comment_add

T0 = timezone.datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))
TICKETS = 6
WORKERS = 3


def paced(value: Any) -> Any:
    time.sleep(0.05)
    return value


def slow_or_failing(body: dict[str, Any], earlier: int) -> tuple[int, float]:
    """The storefront: slow with the first message of a ticket and with some others, fails some first tries."""
    sequence = body.get("sequence", 0)
    if body.get("event") == "ticket_created":
        return 200, 0.8  # the first message is the slow one: without ordering the next ones overtake it
    if sequence % 5 == 0 and earlier == 0:
        return 500, 0.0  # retried after its backoff; the ticket's later messages wait for it
    return 200, random.choice([0.0, 0.0, 0.3])  # noqa: S311 - test jitter


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_tickets_webhooks_arrive_in_order_with_several_workers_and_a_receiver_that_delays_some(
    broker, storefront
) -> None:
    storefront.behave = slow_or_failing
    shop = webhook_shop(storefront.url)
    env = {"KEFU_NOTIFY_RETRY_BASE_SECONDS": "0.3"}
    with ExitStack() as workers:
        for n in range(WORKERS):
            workers.enter_context(worker_process(broker.url, f"order-{n}", env=env))
        workers_answering(WORKERS)
        # Each round changes every ticket once, so a ticket's next message follows its previous one closely, and
        # mostly each change is its own task message (the publisher merges what is queued within
        # publishing.LINGER_SECONDS of a first one).
        tickets = [open_return(shop) for _ in range(TICKETS)]
        staff, buyers = staff_actor("operations"), [buyer_actor(t) for t in tickets]
        tickets = [paced(ticket_act(ticket=t, actor=staff, action="approve")) for t in tickets]
        tickets = [
            paced(ticket_act(ticket=t, actor=b, action="ship_back", carrier="SF", tracking_number=f"SF{t.pk:010d}"))
            for t, b in zip(tickets, buyers, strict=True)
        ]
        for n in range(3):
            for t in tickets:
                paced(ticket_comment_add(ticket=t, actor=staff, body=f"进度 {n}"))
        outbox = Notification.objects.filter(ticket__shop=shop)
        assert outbox.count() == TICKETS * 6
        wait_until(lambda: not outbox.exclude(status=Status.SENT).exists(), timeout=180, what="every message sent")

    key_to_row = {row.dedup_key: row for row in outbox}
    arrived: dict[int, list[Notification]] = defaultdict(list)
    for hit in sorted((h for h in storefront.hits if h.status == 200), key=lambda h: h.at):
        row = key_to_row[hit.delivery]
        arrived[row.ticket_id].append(row)
    assert len(arrived) == TICKETS
    for ticket_id, rows in arrived.items():
        in_order = sorted(outbox.filter(ticket_id=ticket_id), key=lambda r: r.pk)
        assert [r.pk for r in rows] == [r.pk for r in in_order], f"ticket {ticket_id} out of order or duplicated"
        states = [r.payload["ticket"]["state"] for r in rows[:3]]
        assert states == ["requested", "awaiting_return", "return_in_transit"]
        sequences = [r.payload["sequence"] for r in rows]
        versions = [r.payload["ticket"]["version"] for r in rows]
        assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
        assert versions == sorted(versions)
    assert storefront.overlaps == []  # never the same message twice at once
    assert any(h.status == 500 for h in storefront.hits)  # some were retried meanwhile


def queue_of_three(storefront) -> list[Notification]:
    """A ticket with three messages to its storefront: created, approved, shipped back (oldest first)."""
    shop = webhook_shop(storefront.url)
    ticket = open_return(shop)
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="ship_back", carrier="SF", tracking_number="SF1")
    return list(Notification.objects.filter(ticket=ticket).order_by("pk"))


@pytest.mark.django_db
def test_later_messages_wait_while_the_first_is_retried_and_follow_it_once_it_is_sent(storefront, settings) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 30
    with time_machine.travel(T0, tick=False) as clock:
        first, second, third = queue_of_three(storefront)
        storefront.always_fail = True
        assert relay_pending().failed == 1  # only the first is tried: the others wait behind it
        assert notification_deliver(notification_id=second.pk) == "waiting"
        assert storefront.deliveries() == [first.dedup_key]

        storefront.always_fail = False
        clock.shift(timedelta(seconds=10))  # the first is not due yet: nothing goes
        assert not relay_pending()
        clock.shift(timedelta(seconds=30))
        assert relay_pending().sent == 3
    assert storefront.deliveries(status=200) == [first.dedup_key, second.dedup_key, third.dedup_key]


@pytest.mark.django_db
def test_a_message_failing_longer_than_the_hold_no_longer_holds_back_the_later_ones(storefront, settings) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 600
    settings.KEFU_NOTIFY_ORDER_HOLD_SECONDS = 900
    with time_machine.travel(T0, tick=False) as clock:
        first, second, third = queue_of_three(storefront)
        storefront.behave = lambda body, earlier: (500 if body["id"] == first.dedup_key else 200, 0.0)
        assert relay_pending().failed == 1
        clock.shift(timedelta(seconds=899))
        assert relay_pending().sent == 0  # still within the hold (and the first not due: 600 s ± 20 %, tried again)
        clock.shift(timedelta(seconds=2))  # failing for 901 s: the later ones go without it
        relay_pending()
    assert Notification.objects.get(pk=second.pk).status == Status.SENT
    assert Notification.objects.get(pk=third.pk).status == Status.SENT
    assert Notification.objects.get(pk=first.pk).status == Status.PENDING
    assert storefront.deliveries(status=200) == [second.dedup_key, third.dedup_key]


@pytest.mark.django_db
def test_a_dead_lettered_message_holds_nothing_back(storefront, settings) -> None:
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 1
    first, second, third = queue_of_three(storefront)
    storefront.behave = lambda body, earlier: (500 if body["id"] == first.dedup_key else 200, 0.0)
    assert notification_deliver(notification_id=first.pk) == "dead"
    assert relay_pending().sent == 2
    assert storefront.deliveries(status=200) == [second.dedup_key, third.dedup_key]


@pytest.mark.django_db
def test_the_delivery_task_hands_on_to_the_next_in_line_after_sending(storefront) -> None:
    """A message that waited ("waiting") is delivered by whoever delivers the one before it, without the relay."""
    first, second, third = queue_of_three(storefront)
    assert deliver_notifications_task.run([third.pk, second.pk]) == {"waiting": 2}
    assert deliver_notifications_task.run([first.pk]) == {"sent": 3}
    assert storefront.deliveries() == [first.dedup_key, second.dedup_key, third.dedup_key]


@pytest.mark.django_db
def test_another_tickets_messages_do_not_wait(storefront) -> None:
    first, second, third = queue_of_three(storefront)
    other = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
    storefront.behave = lambda body, earlier: (500 if body["id"] == first.dedup_key else 200, 0.0)
    result = relay_pending()
    assert (result.sent, result.failed) == (1, 1)
    assert storefront.deliveries(status=200) == [other.dedup_key]


def documented_discarding() -> Any:
    """The receiver's example in docs/notifications.md ("Order, and discarding stale messages"), as copied."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
    blocks = re.findall(r"```python\n(.*?)```", docs.read_text(encoding="utf-8"), flags=re.S)
    namespace: dict[str, Any] = {}
    exec(compile(next(b for b in blocks if "def apply_kefu_event" in b), str(docs), "exec"), namespace)  # noqa: S102
    return namespace["apply_kefu_event"]


@pytest.mark.django_db
def test_the_documented_receiver_discards_a_message_older_than_one_it_applied(storefront) -> None:
    apply_kefu_event = documented_discarding()
    created, approved, shipped = (row.payload for row in queue_of_three(storefront))
    assert created["sequence"] < approved["sequence"] < shipped["sequence"]
    assert created["ticket"]["version"] < approved["ticket"]["version"] < shipped["ticket"]["version"]
    seen: dict[str, int] = {}
    assert apply_kefu_event(created, seen)
    assert apply_kefu_event(shipped, seen)  # the approval comes late (its retry outlived the hold)
    assert not apply_kefu_event(approved, seen)  # stale: the receiver keeps return_in_transit
    assert not apply_kefu_event(shipped, seen)  # a duplicate changes nothing either
