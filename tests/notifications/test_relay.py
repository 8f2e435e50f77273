"""The relay: backoff, one delivery attempt and its outcome, the dead letter, resend, and SKIP LOCKED.

Deliveries go over real HTTP to a storefront server in a thread. The concurrency tests run two relays in
threads on PostgreSQL, each with its own connection (SQLite has no row locks to skip).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.relay import backoff_seconds, notification_deliver, relay_pending
from notifications.services import notification_resend
from tests.factories.tickets import staff_actor
from tests.markers import requires_postgres
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.support import wait_until
from tests.orders.concurrency import run_at_once
from tickets.services import ticket_act

T0 = timezone.datetime(2026, 3, 2, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))


@pytest.mark.parametrize("attempts", range(1, 12))
def test_backoff_doubles_from_the_base_with_twenty_percent_jitter_up_to_the_cap(settings, attempts: int) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 30
    settings.KEFU_NOTIFY_RETRY_MAX_SECONDS = 3600
    nominal = min(3600, 30 * 2 ** (attempts - 1))
    samples = [backoff_seconds(attempts) for _ in range(200)]
    assert all(0.8 * nominal <= s <= 1.2 * nominal for s in samples)
    assert len(set(samples)) > 150  # jittered, so retries of many messages do not all land at once
    assert max(samples) <= 1.2 * 3600


def test_backoff_grows_until_the_cap(settings) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 30
    settings.KEFU_NOTIFY_RETRY_MAX_SECONDS = 600
    lows = [min(backoff_seconds(n) for _ in range(50)) for n in range(1, 10)]
    highs = [max(backoff_seconds(n) for _ in range(50)) for n in range(1, 10)]
    assert all(high < low for high, low in zip(highs[:4], lows[1:5], strict=True))  # 30, 60, 120, 240, 480: grows
    assert all(0.8 * 600 <= v <= 1.2 * 600 for v in lows[5:] + highs[5:])  # 960 and up: capped at 600


@pytest.mark.django_db
def test_a_delivery_that_succeeds_is_sent_once_and_never_again(storefront) -> None:
    row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
    assert notification_deliver(notification_id=row.pk) == "sent"
    assert notification_deliver(notification_id=row.pk) == "skipped"  # idempotent: a sent message stays sent
    assert relay_pending().sent == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
    assert row.sent_at is not None
    assert storefront.deliveries() == [row.dedup_key]


@pytest.mark.django_db
def test_a_failed_delivery_waits_its_backoff_then_dead_letters_after_the_last_attempt(storefront, settings) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 30
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 3
    storefront.always_fail = True
    with time_machine.travel(T0, tick=False) as clock:
        row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
        assert notification_deliver(notification_id=row.pk) == "failed"
        row.refresh_from_db()
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert "HTTP 500" in row.last_error
        assert timedelta(seconds=24) <= row.next_attempt_at - T0 <= timedelta(seconds=36)
        assert notification_deliver(notification_id=row.pk) == "skipped"  # not due yet
        assert relay_pending().skipped == 0  # the relay does not even pick it

        clock.move_to(row.next_attempt_at)
        assert relay_pending().failed == 1
        row.refresh_from_db()
        assert timedelta(seconds=48) <= row.next_attempt_at - timezone.now() <= timedelta(seconds=72)

        clock.move_to(row.next_attempt_at)
        assert relay_pending().dead == 1
        clock.shift(timedelta(days=1))
        assert relay_pending().sent == relay_pending().dead == 0  # a dead letter is left alone
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.DEAD, 3)
    assert storefront.deliveries() == [row.dedup_key] * 3


@pytest.mark.django_db
def test_resend_puts_a_dead_letter_back_with_fresh_attempts_and_the_same_key(storefront, settings) -> None:
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 1
    storefront.always_fail = True
    row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
    assert notification_deliver(notification_id=row.pk) == "dead"

    storefront.always_fail = False
    notification_resend(notification=row)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 0)
    assert relay_pending().sent == 1
    assert [h.status for h in storefront.hits] == [500, 200]
    assert storefront.deliveries() == [row.dedup_key] * 2


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_relays_at_once_never_send_a_message_twice(storefront, no_broker) -> None:
    storefront.delay = 0.01  # long enough for the two relays to overlap on every row
    shop = webhook_shop(storefront.url)
    for _ in range(30):
        open_return(shop)
    keys = set(Notification.objects.values_list("dedup_key", flat=True))
    assert len(keys) == 30

    results = run_at_once(2, lambda _: relay_pending(batch=5))  # batches smaller than the backlog: they share

    assert all(not isinstance(r, BaseException) for r in results), results
    assert sum(r.sent for r in results) == 30
    assert all(r.sent > 0 for r in results), results  # both worked, sharing the outbox
    assert sorted(storefront.deliveries()) == sorted(keys)  # each exactly once
    assert storefront.overlaps == []
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


@requires_postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_delivery_in_progress_holds_no_lock_and_only_its_own_tickets_later_messages_wait(
    storefront, no_broker
) -> None:
    """While one message hangs at the storefront, its outbox row is not locked (only leased), its ticket can
    change, and the shop's other messages go out; the ticket's own later message waits for it."""
    storefront.hold_first = threading.Event()
    shop = webhook_shop(storefront.url)
    ticket = open_return(shop)
    other = open_return(shop)
    held = Notification.objects.get(ticket=ticket)
    delivering = threading.Thread(target=lambda: (notification_deliver(notification_id=held.pk), connection.close()))
    delivering.start()
    try:
        wait_until(lambda: storefront.hits, timeout=10, what="the held delivery")
        with transaction.atomic():  # another connection may lock the row being sent: nobody holds it
            assert Notification.objects.select_for_update(nowait=True).filter(pk=held.pk).exists()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")  # waiting for a lock fails the change instead of hanging
        try:
            ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")

        results = run_at_once(1, lambda _: relay_pending())
        assert not isinstance(results[0], BaseException), results
        assert results[0].sent == 1, results  # the other ticket's; the approval waits behind the held creation
        assert Notification.objects.get(pk=held.pk).status == Status.PENDING
        approval = Notification.objects.get(ticket=ticket, event="state_changed")
        assert approval.status == Status.PENDING and approval.attempts == 0
    finally:
        storefront.hold_first.set()
        delivering.join(10)
    assert relay_pending().sent == 1  # now the approval goes
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}
    assert storefront.deliveries(status=200) == [
        held.dedup_key,
        Notification.objects.get(ticket=other).dedup_key,
        approval.dedup_key,
    ]


@pytest.mark.django_db
def test_a_relay_batch_records_each_messages_own_outcome(storefront, settings) -> None:
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 2
    with time_machine.travel(T0, tick=False):
        good = [Notification.objects.get(ticket=open_return(webhook_shop(storefront.url))) for _ in range(3)]
        unsigned = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url, secret="")))
        last_try = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url, secret="")))
        Notification.objects.filter(pk=last_try.pk).update(attempts=1)

        result = relay_pending()
    assert (result.sent, result.failed, result.dead) == (3, 1, 1)
    for row in good:
        row.refresh_from_db()
        assert (row.status, row.attempts, row.sent_at) == (Status.SENT, 1, T0)
    unsigned.refresh_from_db()
    assert (unsigned.status, unsigned.attempts) == (Status.PENDING, 1)
    assert unsigned.next_attempt_at > T0
    assert "no webhook secret" in unsigned.last_error
    last_try.refresh_from_db()
    assert (last_try.status, last_try.attempts) == (Status.DEAD, 2)
    assert sorted(storefront.deliveries()) == sorted(r.dedup_key for r in good)


@pytest.mark.django_db
@pytest.mark.parametrize("messages", [5, 25])
def test_the_relay_makes_the_same_few_queries_for_5_messages_as_for_25(
    storefront, django_assert_max_num_queries, messages: int
) -> None:
    shop = webhook_shop(storefront.url)
    for _ in range(messages):
        open_return(shop)
    # One batch: the claim (one UPDATE … RETURNING, its own transaction with its asynchronous commit inside) and
    # the shops' secrets (one SELECT), the record (one UPDATE likewise); then a claim that finds nothing.
    with django_assert_max_num_queries(4):
        assert relay_pending().sent == messages
    assert len(storefront.hits) == messages


@pytest.mark.django_db
def test_a_slow_batch_is_committed_early_and_the_rest_sent_in_the_next(storefront, monkeypatch) -> None:
    from notifications import relay

    monkeypatch.setattr(relay, "RELAY_BATCH_SECONDS", 0.0)  # every message takes "too long"
    shop = webhook_shop(storefront.url)
    rows = [Notification.objects.get(ticket=open_return(shop)) for _ in range(3)]
    assert relay_pending(batch=10).sent == 3
    assert storefront.deliveries() == [r.dedup_key for r in rows]  # once each, oldest first


@pytest.mark.django_db
def test_a_message_whose_sender_breaks_fails_alone_and_the_rest_of_its_batch_stays_sent(storefront) -> None:
    shop = webhook_shop(storefront.url)
    first, broken, last = (Notification.objects.get(ticket=open_return(shop)) for _ in range(3))
    Notification.objects.filter(pk=broken.pk).update(channel="fax")  # no such sender: a KeyError

    result = relay_pending()

    assert (result.sent, result.failed) == (2, 1)
    assert storefront.deliveries() == [first.dedup_key, last.dedup_key]
    broken.refresh_from_db()
    assert (broken.status, broken.attempts) == (Status.PENDING, 1)
    assert broken.last_error.startswith("KeyError")
    assert relay_pending().sent == 0  # the sent ones are recorded: not sent again


@pytest.mark.django_db
def test_a_lease_that_ran_out_lets_another_worker_send_and_the_first_workers_late_outcome_changes_nothing(
    storefront, settings
) -> None:
    """A worker stuck past its lease (KEFU_NOTIFY_LEASE_SECONDS): the row is due again, another worker sends it
    (same de-duplication key) and records it; the first worker's outcome, arriving late, is not written."""
    from notifications.leasing import Attempt, claim_one, record

    settings.KEFU_NOTIFY_LEASE_SECONDS = 60
    with time_machine.travel(T0, tick=False) as clock:
        row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
        status, stuck, lease = claim_one(notification_id=row.pk, now=timezone.now())
        assert status == "claimed" and stuck is not None and lease is not None
        assert notification_deliver(notification_id=row.pk) == "skipped"  # leased: nobody else takes it
        clock.shift(timedelta(seconds=59))
        assert relay_pending().sent == 0

        clock.shift(timedelta(seconds=2))  # the lease has run out
        assert relay_pending().sent == 1
        late = Attempt(stuck, "failed", "HTTP 500: late", retry_at=timezone.now())  # what the stuck worker saw
        assert record(lease=lease, attempted=[late]) == [row.pk]  # not ours any more: nothing written
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error, row.lease_owner) == (Status.SENT, 1, "", "")
    assert storefront.deliveries() == [row.dedup_key]


def _hot_updates_in_this_transaction() -> tuple[int, int]:
    """(updates, of which in place) on the outbox table so far in this transaction (PostgreSQL's counters)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Notification._meta.db_table] * 2,
        )
        updates, hot = cursor.fetchone()
    return updates, hot


@requires_postgres
@pytest.mark.django_db
def test_taking_a_lease_writes_no_index_entry_and_rows_behind_a_failing_message_are_not_leased(storefront) -> None:
    """The lease is an in-place (HOT) update on PostgreSQL (issue 16: the relay's cost per message): the claim
    writes only columns no index covers, and the outbox pages have room (fillfactor). A batch does not take the
    messages waiting behind one that is failing: they are not written at all."""
    from notifications.leasing import claim_batch, give_back

    shop = webhook_shop(storefront.url)
    tickets = [open_return(shop) for _ in range(3)]
    staff = staff_actor("operations")
    waiting = ticket_act(ticket=tickets[0], actor=staff, action="approve")  # a second message behind the first
    storefront.always_fail = True
    assert relay_pending(batch=1, limit=1).failed == 1  # the first ticket's first message now waits for its retry
    storefront.always_fail = False

    before = _hot_updates_in_this_transaction()
    rows, lease = claim_batch(limit=10, now=timezone.now())
    after = _hot_updates_in_this_transaction()
    assert lease is not None
    assert sorted(row.ticket_id for row in rows) == [tickets[1].pk, tickets[2].pk]  # not the one behind
    assert (after[0] - before[0], after[1] - before[1]) == (2, 2)  # two rows leased, both in place
    give_back(lease=lease, ids=[row.id for row in rows])
    assert Notification.objects.filter(ticket=waiting, lease_owner="").count() == 2
