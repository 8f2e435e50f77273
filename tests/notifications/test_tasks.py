"""Delivery by a real Celery worker (a thread of this process) on a private Redis, to a real HTTP server.

A ticket change commits its outbox rows; after the commit ``deliver_notifications_task`` is published,
the worker delivers, and a failure makes the task re-publish itself at the backoff time. The storefront
counts and times what arrives. ``transaction=True``: the worker thread has its own database connection and
only sees committed rows. PostgreSQL (the worker and the test share the database from two connections).
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.models import Notification, Status
from tests.factories.tickets import staff_actor
from tests.markers import requires_postgres
from tests.notifications.conftest import SECRET, open_return, webhook_shop
from tests.notifications.support import signature_valid, wait_until, worker_thread
from tickets.services import ticket_act

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def sent(pk: int) -> bool:
    return Notification.objects.filter(pk=pk, status=Status.SENT).exists()


def test_each_ticket_change_sends_exactly_one_signed_webhook(broker, storefront) -> None:
    shop = webhook_shop(storefront.url)
    with worker_thread():
        ticket = open_return(shop)
        created = Notification.objects.get(ticket=ticket)
        wait_until(lambda: sent(created.pk), timeout=20, what="the creation webhook")

        ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
        changed = Notification.objects.exclude(pk=created.pk).get(ticket=ticket)
        wait_until(lambda: sent(changed.pk), timeout=20, what="the state-change webhook")

    # The worker is stopped: whatever it would have sent twice has arrived by now.
    assert storefront.deliveries() == [created.dedup_key, changed.dedup_key]
    for hit, row, event, state in (
        (storefront.hits[0], created, "ticket_created", "requested"),
        (storefront.hits[1], changed, "state_changed", "awaiting_return"),
    ):
        assert signature_valid(hit, SECRET), hit.headers
        assert not signature_valid(hit, "another shop's secret")
        body = json.loads(hit.body)
        assert hit.headers["X-Kefu-Delivery"] == body["id"] == row.dedup_key
        assert hit.headers["X-Kefu-Event"] == body["event"] == event
        assert hit.headers["Content-Type"].startswith("application/json")
        assert body["shop"] == shop.code
        assert body["ticket"]["number"] == ticket.number
        assert body["ticket"]["order_number"] == ticket.order.number
        assert body["ticket"]["state"] == state
    row = Notification.objects.get(pk=changed.pk)
    assert row.attempts == 1
    assert row.sent_at is not None


@pytest.mark.parametrize("failures", [3])
def test_a_receiver_failing_n_times_gets_the_message_once_after_n_retries_with_growing_delays(
    broker, storefront, settings, failures: int
) -> None:
    base = 0.2
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = base  # read by the worker thread at each attempt
    storefront.fail_first = failures
    shop = webhook_shop(storefront.url)
    with worker_thread():
        ticket = open_return(shop)
        row = Notification.objects.get(ticket=ticket)
        wait_until(lambda: sent(row.pk), timeout=30, what="delivery after the retries")

    hits = storefront.hits_for(row.dedup_key)
    assert [h.status for h in hits] == [500] * failures + [200]
    assert len(storefront.hits) == failures + 1  # nothing else, and nothing after the success
    row.refresh_from_db()
    assert row.attempts == failures + 1
    assert row.last_error == ""
    # Backoff base·2^(n-1) with ±20 % jitter: each wait is at least 0.8 × its nominal value and the waits grow.
    gaps = [later.at - earlier.at for earlier, later in zip(hits, hits[1:], strict=False)]
    for n, gap in enumerate(gaps, start=1):
        nominal = base * 2 ** (n - 1)
        assert 0.8 * nominal - 0.02 <= gap <= 1.2 * nominal + 1.0, (n, gaps)
    assert gaps == sorted(gaps) and len(set(gaps)) == len(gaps), gaps


def test_a_receiver_that_always_fails_gets_a_dead_letter_that_the_admin_resends(
    broker, storefront, settings, client
) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 0.05
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 3
    storefront.always_fail = True
    shop = webhook_shop(storefront.url)
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(admin)
    with worker_thread():
        ticket = open_return(shop)
        row = Notification.objects.get(ticket=ticket)
        wait_until(
            lambda: Notification.objects.filter(pk=row.pk, status=Status.DEAD).exists(),
            timeout=20,
            what="the dead letter",
        )
        row.refresh_from_db()
        assert row.attempts == 3
        assert "HTTP 500" in row.last_error
        assert storefront.deliveries() == [row.dedup_key] * 3

        # The storefront is fixed; a supervisor resends from the delivery log.
        storefront.always_fail = False
        response = client.post(
            reverse("admin:notifications_notification_changelist"),
            {"action": "resend", "_selected_action": [row.pk]},
        )
        assert response.status_code == 302
        wait_until(lambda: sent(row.pk), timeout=20, what="the resent message")

    assert [h.status for h in storefront.hits] == [500, 500, 500, 200]
    assert storefront.deliveries() == [row.dedup_key] * 4  # the same de-duplication key every time
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 1)
