"""Delivering the outbox: at least once, never twice at the same time, with backoff and a dead letter.

A pending, due row is locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (the row only, not the ticket or shop
it joins) and the lock is kept while sending, so several workers share the outbox without sending a message
twice at once. ``notification_deliver`` (the per-message task) locks one row; ``relay_pending`` (the periodic
relay, and the way through a backlog) locks a batch, sends each, and writes the outcomes in one UPDATE and
one commit. If the worker dies mid-send its transaction is rolled back and the rows are still pending: the
periodic relay (or the broker redelivering the late-acknowledged task) sends them again, with the same
de-duplication key.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from kefu.core.outbound import mask_secrets
from notifications.channels import DeliveryError
from notifications.channels.senders import sender_for
from notifications.models import Notification, Status

logger = logging.getLogger(__name__)

# What an attempt changes on the row (written by notification_deliver and relay_pending alike).
OUTCOME_FIELDS = ["attempts", "status", "sent_at", "last_error", "next_attempt_at"]
# relay_pending locks this many rows at a time, and commits a batch early once it has taken this long (a slow
# receiver must not hold the outcomes of the batch's other messages for long).
RELAY_BATCH = 50
RELAY_BATCH_SECONDS = 5.0
# Read with each row: what notifications.channels.webhook signs with (see webhook.shop_of).
SHOP_COLUMNS = {
    "shop_code": F("ticket__shop__code"),
    "shop_webhook_secret": F("ticket__shop__webhook_secret"),
    "shop_webhook_secret_previous": F("ticket__shop__webhook_secret_previous"),
    "shop_webhook_secret_previous_until": F("ticket__shop__webhook_secret_previous_until"),
}


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±20 % jitter: base, 2·base, 4·base, … capped at KEFU_NOTIFY_RETRY_MAX_SECONDS."""
    base = settings.KEFU_NOTIFY_RETRY_BASE_SECONDS
    delay = min(settings.KEFU_NOTIFY_RETRY_MAX_SECONDS, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography


def _locked_due(now: datetime) -> QuerySet[Notification]:
    """Pending rows due at ``now``, locked as they are read; rows another worker holds are skipped.

    of=("self",): lock the outbox row only. Without it PostgreSQL also locks the joined ticket and shop rows
    for the whole send: the ticket could not change meanwhile, and other relays skipped every other message of
    the same shop.

    The shop's code and webhook secret come as two columns of the row (``SHOP_COLUMNS``, what the webhook
    channel signs with) instead of the ticket and shop as model instances: building those took a third of the
    relay's own time per message (bench_notifications).
    """
    return (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(**SHOP_COLUMNS)
        .filter(status=Status.PENDING, next_attempt_at__lte=now)
    )


def _commit_without_waiting_for_the_disk() -> None:
    """Recording an outcome need not wait for the WAL flush (an fsync per commit, more than the POST costs):
    should the database crash before it is flushed, the row is pending again and is sent again with the same
    dedup key. The outbox row itself was committed, durably, with the ticket change.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _attempt(notification: Notification) -> str:
    """Send a locked notification once and record the outcome on it (the caller saves OUTCOME_FIELDS)."""
    notification.attempts += 1
    try:
        sender_for(notification.channel).send(notification)
    except Exception as exc:
        if not isinstance(exc, DeliveryError):
            # A sender's bug fails this message only (retried, then dead-lettered, in the delivery log); it must
            # not roll back the batch and with it the record of the messages already sent.
            logger.exception("notification %s: %s failed unexpectedly", notification.pk, notification.channel)
            exc = DeliveryError(f"{type(exc).__name__}: {exc}")
        notification.last_error = mask_secrets(str(exc))[:2000]  # a robot's token never reaches the log
        # A permanent failure (a refused target, a number the SMS provider rejects) is not retried.
        if exc.permanent or notification.attempts >= settings.KEFU_NOTIFY_MAX_ATTEMPTS:
            notification.status = Status.DEAD
            logger.error(
                "notification %s dead after %s attempts: %s",
                notification.pk,
                notification.attempts,
                notification.last_error,
            )
            return "dead"
        notification.next_attempt_at = timezone.now() + timedelta(seconds=backoff_seconds(notification.attempts))
        return "failed"
    notification.status = Status.SENT
    notification.sent_at = timezone.now()
    notification.last_error = ""
    return "sent"


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Try to deliver one notification. Returns "sent", "failed", "dead", or "skipped" (not pending, not due,
    or another worker holds it). Idempotent: a sent or dead notification is never sent again by this.
    """
    now = now or timezone.now()
    with transaction.atomic():
        notification = _locked_due(now).filter(pk=notification_id).first()
        if notification is None:
            return "skipped"
        _commit_without_waiting_for_the_disk()
        outcome = _attempt(notification)
        notification.save(update_fields=OUTCOME_FIELDS)
    return outcome


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0  # notification_deliver only: the relay does not see rows other workers hold

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed or self.dead)


def _record(attempted: list[Notification]) -> None:
    """Write the outcomes of a batch: the sent ones in one UPDATE (``bulk_update`` builds a CASE per field and
    row, ten times the cost), failures (rare) one by one. ``sent_at`` is when the batch is recorded, at most
    RELAY_BATCH_SECONDS after the POST.
    """
    sent = [row.pk for row in attempted if row.status == Status.SENT]
    if sent:
        Notification.objects.filter(pk__in=sent).update(
            status=Status.SENT, sent_at=timezone.now(), last_error="", attempts=F("attempts") + 1
        )
    for row in attempted:
        if row.status != Status.SENT:
            row.save(update_fields=OUTCOME_FIELDS)


def relay_pending(*, limit: int = 500, batch: int = RELAY_BATCH, now: datetime | None = None) -> RelayResult:
    """Deliver up to ``limit`` pending notifications that are due, oldest due first, ``batch`` rows a time.

    The periodic safety net (after a broker outage, a lost message, a killed worker) and the way through a
    backlog: each batch is one transaction (lock, send each, one UPDATE, one commit). Rows other workers
    hold are left to them.
    """
    now = now or timezone.now()
    result = RelayResult()
    done = 0
    while done < limit:
        with transaction.atomic():
            rows = list(_locked_due(now).order_by("next_attempt_at", "pk")[: min(batch, limit - done)])
            if not rows:
                break
            _commit_without_waiting_for_the_disk()
            started = time.monotonic()
            attempted = []
            for row in rows:
                outcome = _attempt(row)
                setattr(result, outcome, getattr(result, outcome) + 1)
                attempted.append(row)
                if time.monotonic() - started > RELAY_BATCH_SECONDS:
                    break  # the rest of the batch is unlocked at the commit, untouched, for the next round
            _record(attempted)
        done += len(attempted)
    return result
