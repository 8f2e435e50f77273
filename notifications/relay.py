"""Delivering the outbox: at least once, never twice at the same time, with backoff and a dead letter.

``notification_deliver`` locks one pending, due row with ``SELECT … FOR UPDATE SKIP LOCKED`` and keeps the
lock while sending, so several workers share the outbox without sending a message twice at once. If the
worker dies mid-send its transaction is rolled back and the row is still pending: the periodic relay (or
the broker redelivering the late-acknowledged task) sends it again, with the same de-duplication key.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.channels import DeliveryError, sender_for
from notifications.models import Notification, Status

logger = logging.getLogger(__name__)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±20 % jitter: base, 2·base, 4·base, … capped at KEFU_NOTIFY_RETRY_MAX_SECONDS."""
    base = settings.KEFU_NOTIFY_RETRY_BASE_SECONDS
    delay = min(settings.KEFU_NOTIFY_RETRY_MAX_SECONDS, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Try to deliver one notification. Returns "sent", "failed", "dead", or "skipped" (not pending, not due,
    or another worker holds it). Idempotent: a sent or dead notification is never sent again by this.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # of=("self",): lock the outbox row only. Without it PostgreSQL also locks the joined ticket and shop
        # rows for the whole send: the ticket could not change meanwhile, and other relays skipped every
        # other message of the same shop.
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("ticket__shop")
            .filter(pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if notification is None:
            return "skipped"
        notification.attempts += 1
        try:
            sender_for(notification.channel).send(notification)
        except DeliveryError as exc:
            notification.last_error = str(exc)[:2000]
            if notification.attempts >= settings.KEFU_NOTIFY_MAX_ATTEMPTS:
                notification.status = Status.DEAD
                outcome = "dead"
                logger.error("notification %s dead after %s attempts: %s", notification.pk, notification.attempts, exc)
            else:
                delay = timedelta(seconds=backoff_seconds(notification.attempts))
                notification.next_attempt_at = timezone.now() + delay
                outcome = "failed"
            notification.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            return outcome
        notification.status = Status.SENT
        notification.sent_at = timezone.now()
        notification.last_error = ""
        notification.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return "sent"


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0


def relay_pending(*, limit: int = 500, now: datetime | None = None) -> RelayResult:
    """Deliver every pending notification that is due (the periodic safety net; also after an outage)."""
    now = now or timezone.now()
    result = RelayResult()
    ids = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        outcome = notification_deliver(notification_id=pk, now=now)
        setattr(result, outcome, getattr(result, outcome) + 1)
    return result


def notification_resend(*, notification: Notification) -> Notification:
    """Put a dead-lettered (or sent) message back in the outbox with fresh attempts; keeps its dedup key."""
    from notifications.services import hand_to_relay

    with transaction.atomic():
        locked = Notification.objects.select_for_update().get(pk=notification.pk)
        locked.status = Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "attempts", "next_attempt_at"])
        transaction.on_commit(lambda: hand_to_relay([locked.pk]), robust=True)
    return locked
