"""Delivering the outbox: at least once, in order per ticket and recipient, with backoff and a dead letter.

A row is claimed under a lease in a short transaction, sent outside any transaction, and its outcome recorded
in another short one (``notifications.leasing``: no row lock is held while a receiver answers, however slowly).
``notification_deliver`` (the per-message task) claims one row; ``relay_pending`` (the periodic relay, and the
way through a backlog) claims a batch, sends each, and records the outcomes with one UPDATE and one commit.
If the worker dies mid-send its rows stay leased until the lease expires; then the periodic relay (or the
broker redelivering the late-acknowledged task) sends them again, with the same de-duplication key. A ticket's
messages to one recipient go out in the order of its changes (``leasing``: "Delivery order").
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from kefu.core.outbound import mask_secrets
from notifications.channels import DeliveryError, Message
from notifications.channels.senders import sender_for
from notifications.leasing import Attempt, Queue, claim_batch, claim_one, queue_of, record

logger = logging.getLogger(__name__)

# relay_pending claims this many rows at a time, and records a batch early once it has taken this long (the
# batch's outcomes are then written while the lease has time left, and a slow receiver does not delay them).
RELAY_BATCH = 200
RELAY_BATCH_SECONDS = 5.0


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with ±20 % jitter: base, 2·base, 4·base, … capped at KEFU_NOTIFY_RETRY_MAX_SECONDS."""
    base = settings.KEFU_NOTIFY_RETRY_BASE_SECONDS
    delay = min(settings.KEFU_NOTIFY_RETRY_MAX_SECONDS, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography


def send_deadline() -> float:
    """The longest one send may take (the outgoing request's total deadline)."""
    return float(settings.KEFU_OUTBOUND_DEADLINE_SECONDS)


def _attempt(message: Message) -> Attempt:
    """Send a leased message once; the outcome is for ``leasing.record`` to write."""
    try:
        sender_for(message.channel).send(message)
    except Exception as exc:
        if not isinstance(exc, DeliveryError):
            # A sender's bug fails this message only (retried, then dead-lettered, in the delivery log); it must
            # not roll back the batch and with it the record of the messages already sent.
            logger.exception("notification %s: %s failed unexpectedly", message.id, message.channel)
            exc = DeliveryError(f"{type(exc).__name__}: {exc}")
        error = mask_secrets(str(exc))[:2000]  # a robot's token never reaches the log
        attempts = message.attempts + 1
        # A permanent failure (a refused target, a number the SMS provider rejects) is not retried.
        if exc.permanent or attempts >= settings.KEFU_NOTIFY_MAX_ATTEMPTS:
            logger.error("notification %s dead after %s attempts: %s", message.id, attempts, error)
            return Attempt(message, "dead", error)
        return Attempt(message, "failed", error, retry_at=timezone.now() + timedelta(seconds=backoff_seconds(attempts)))
    return Attempt(message, "sent")


def notification_deliver(*, notification_id: int, now: datetime | None = None) -> str:
    """Try to deliver one notification. Returns "sent", "failed", "dead"; "skipped" (not pending, not due, or
    another worker holds it); "waiting" (an earlier message of its ticket to the same recipient is pending:
    see ``leasing.next_in_line``); or "expired" (sent, but the lease ran out first and another worker took the
    row: it sends it again and records the outcome). Idempotent: a sent or dead notification is never sent
    again by this.
    """
    status, message, lease = claim_one(notification_id=notification_id, now=now or timezone.now())
    if message is None or lease is None:
        return status
    attempt = _attempt(message)
    return "expired" if record(lease=lease, attempted=[attempt]) else attempt.outcome


@dataclass
class RelayResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    expired: int = 0  # sent or tried after their lease ran out (another worker sends them again)
    skipped: int = 0  # notification_deliver only: the relay does not see rows other workers hold
    waiting: int = 0  # notification_deliver only: the relay does not claim a row an earlier one holds back

    def __bool__(self) -> bool:
        return bool(self.sent or self.failed or self.dead or self.expired)


def relay_pending(*, limit: int = 500, batch: int = RELAY_BATCH, now: datetime | None = None) -> RelayResult:
    """Deliver up to ``limit`` pending notifications that are due and may go now (oldest first), ``batch`` rows
    a claim.

    The periodic safety net (after a broker outage, a lost message, a killed worker) and the way through a
    backlog. Each batch: claim (one short transaction), send one after the other (no transaction), record (one
    short transaction). A batch stops early after ``RELAY_BATCH_SECONDS``, or when its lease has less time left
    than one send may take; the rest is given back for the next claim. When a message fails, the later
    messages of its queue in the batch are given back unsent (they wait for it). Rows other workers hold are
    left to them.
    """
    result = RelayResult()
    done = 0
    while done < limit:
        # The time of each claim (unless given): what became due meanwhile, e.g. the message that waited behind
        # one this run has just sent, goes in this run.
        messages, lease = claim_batch(limit=min(batch, limit - done), now=now or timezone.now())
        if lease is None:
            break
        started = time.monotonic()
        outcomes: dict[int, str] = {}
        attempted: list[Attempt] = []
        stopped: set[Queue] = set()  # queues whose message failed in this batch
        for message in messages:
            if attempted and (
                time.monotonic() - started > RELAY_BATCH_SECONDS or lease.seconds_left() < send_deadline()
            ):
                break  # the rest of the batch is given back, untouched, for the next claim
            if queue_of(message) in stopped:
                continue
            attempt = _attempt(message)
            attempted.append(attempt)
            outcomes[message.id] = attempt.outcome
            if attempt.outcome == "failed":
                stopped.add(queue_of(message))
        unsent = [message for message in messages if message.id not in outcomes]
        for pk in record(lease=lease, attempted=attempted, unsent=unsent):
            outcomes[pk] = "expired"
        for outcome in outcomes.values():
            setattr(result, outcome, getattr(result, outcome) + 1)
        done += len(attempted)
    return result
