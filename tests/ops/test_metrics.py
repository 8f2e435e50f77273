"""``/metrics``: what Prometheus scrapes, and that nobody else can."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from notifications.models import Notification, Status
from tests.factories.desk import open_return
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"


def scrape(client) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    figures: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            figures.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return figures


def test_off_unless_a_token_is_configured(client) -> None:
    with override_settings(KEFU_METRICS_TOKEN=""):
        assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@override_settings(KEFU_METRICS_TOKEN=TOKEN)
def test_a_wrong_or_missing_token_is_refused(client) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


@override_settings(KEFU_METRICS_TOKEN=TOKEN)
def test_tickets_deadlines_and_the_outbox_are_counted(client) -> None:
    late, soon, later = open_return(), open_return(), open_return()
    now = timezone.now()
    Ticket.objects.filter(pk=late.pk).update(due_at=now - timedelta(hours=2))
    Ticket.objects.filter(pk=soon.pk).update(due_at=now + timedelta(minutes=20))
    Ticket.objects.filter(pk=later.pk).update(due_at=now + timedelta(days=2))
    for n, (ticket, status, attempts, due) in enumerate(
        [
            (late, Status.DEAD, 8, now),
            (late, Status.PENDING, 2, now - timedelta(minutes=10)),
            (soon, Status.PENDING, 0, now),
            (later, Status.SENT, 1, now),
        ]
    ):
        Notification.objects.create(
            ticket=ticket,
            event="state_changed",
            channel="webhook",
            audience="buyer",
            language="en",
            body="",
            recipient="https://shop.example/hook",
            dedup_key=f"m{n}",
            status=status,
            attempts=attempts,
            next_attempt_at=due,
        )

    figures = scrape(client)

    assert figures["kefu_tickets"][(("kind", "return"), ("state", "requested"))] == 3
    assert figures["kefu_tickets_overdue"][(("kind", "return"),)] == 1
    assert figures["kefu_tickets_due_soon"][(("kind", "return"),)] == 1
    assert figures["kefu_outbox_pending"] == {(("channel", "webhook"),): 2}
    assert figures["kefu_outbox_retrying"] == {(("channel", "webhook"),): 1}
    assert figures["kefu_outbox_dead"] == {(("channel", "webhook"),): 1}
    assert figures["kefu_outbox_oldest_due_seconds"][()] >= 600
    assert figures["kefu_refunds_pending"][()] == 0
