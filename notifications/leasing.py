"""Claiming outbox rows for delivery: a lease, taken and given back in short transactions of their own.

Sending a message may take as long as the outgoing request's total deadline; no transaction is open and no
row lock is held meanwhile:

1. **Claim** (one short transaction): the due rows that may go now are read with ``SELECT … FOR UPDATE SKIP
   LOCKED`` (the outbox rows only) and one UPDATE sets their ``lease_owner`` (a token of this claim) and
   ``leased_until`` (now + ``KEFU_NOTIFY_LEASE_SECONDS``); commit. The row locks last for these two statements;
   after the commit the lease keeps other workers away: a leased row is not due until its lease expires.
2. **Send**, outside any transaction (``notifications.relay``).
3. **Record** (another short transaction): the outcome is written, and the lease cleared, only on the rows
   whose ``lease_owner`` is still this claim's. A lease that expired while its worker was stuck lets another
   worker take the row and send it again (with the same de-duplication key, so the receiver drops the
   duplicate); the first worker's late outcome then changes nothing.

A worker killed while sending leaves its rows leased: they are due again when the lease expires.

**Delivery order.** The messages of one ticket to one recipient over one channel (a *queue*: the same
``ticket``, ``channel`` and ``recipient``) go out in the order of the changes, which is the order of their ids
(a ticket's changes are serialised by its row lock, and the outbox rows are inserted inside the change). A
message waits while an earlier message of its queue is pending (due, leased, or waiting for its retry),
unless that one has been failing for longer than ``KEFU_NOTIFY_ORDER_HOLD_SECONDS`` (its ``failing_since``):
then the later ones go without it. A dead-lettered message holds nothing back. So one broken message delays
the rest of its queue by at most the hold time (plus the relay interval), never forever. The relay claims a
queue's consecutive messages together and sends them one after the other; a failure stops the rest of that
queue in the batch.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Notification, Status

# Read with each row: what notifications.channels.webhook signs with (see webhook.shop_of).
SHOP_COLUMNS = {
    "shop_code": F("ticket__shop__code"),
    "shop_webhook_secret": F("ticket__shop__webhook_secret"),
    "shop_webhook_secret_previous": F("ticket__shop__webhook_secret_previous"),
    "shop_webhook_secret_previous_until": F("ticket__shop__webhook_secret_previous_until"),
}
# Clears the lease (with every outcome, and when a claimed row is given back unsent).
RELEASED = {"lease_owner": "", "leased_until": None}

Queue = tuple[int, str, str]  # (ticket id, channel, recipient)

logger = logging.getLogger(__name__)

_HOST = socket.gethostname()[:30]


def queue_of(notification: Notification) -> Queue:
    return (notification.ticket_id, notification.channel, notification.recipient)


@dataclass(frozen=True)
class Lease:
    """One claim's hold on its rows: the owner token written on them, and when the hold ends."""

    owner: str
    ends: float  # time.monotonic() when leased_until passes

    def seconds_left(self) -> float:
        return self.ends - time.monotonic()


def _lease_token() -> str:
    """Who holds a row (shown in the admin): host, process and a random part unique to the claim."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def commit_without_waiting_for_the_disk() -> None:
    """A claim or an outcome need not wait for the WAL flush (an fsync per commit, more than the POST costs):
    should the database crash before it is flushed, the row is pending and unleased again and is sent again
    with the same dedup key. The outbox row itself was committed, durably, with the ticket change.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def holding_back(now: datetime) -> Q:
    """Pending messages that hold back the later messages of their queue (see the module's docstring)."""
    hold = timedelta(seconds=settings.KEFU_NOTIFY_ORDER_HOLD_SECONDS)
    return Q(status=Status.PENDING) & (Q(failing_since__isnull=True) | Q(failing_since__gt=now - hold))


def _earlier_in_queue(now: datetime) -> QuerySet[Notification]:
    """The pending messages of the outer row's queue before it that hold it back (the queue index)."""
    return Notification.objects.filter(
        holding_back(now),
        ticket_id=OuterRef("ticket_id"),
        channel=OuterRef("channel"),
        recipient=OuterRef("recipient"),
        pk__lt=OuterRef("pk"),
    )


def _due(now: datetime) -> QuerySet[Notification]:
    """Pending rows due at ``now`` and not leased (or whose lease has expired), locked as they are read; rows
    another worker is claiming are skipped.

    of=("self",): lock the outbox row only. Without it PostgreSQL also locks the joined ticket and shop rows.
    The shop's code and webhook secret come as two columns of the row (``SHOP_COLUMNS``) instead of the ticket
    and shop as model instances: building those took a third of the relay's own time per message.
    """
    return (
        Notification.objects.select_for_update(skip_locked=True, of=("self",))
        .annotate(**SHOP_COLUMNS)
        .filter(status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
    )


def _lease(rows: list[Notification]) -> Lease:
    """Lease the locked ``rows`` to a new owner (inside the claim's transaction)."""
    seconds = settings.KEFU_NOTIFY_LEASE_SECONDS
    lease = Lease(owner=_lease_token(), ends=time.monotonic() + seconds)
    commit_without_waiting_for_the_disk()
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(
        lease_owner=lease.owner, leased_until=timezone.now() + timedelta(seconds=seconds)
    )
    return lease


def claim_one(*, notification_id: int, now: datetime) -> tuple[str, Notification | None, Lease | None]:
    """Lease one notification if it may be sent now. Returns ("claimed", row, lease), or ("skipped", None, None)
    (not pending, not due, leased or being claimed by another worker), or ("waiting", None, None) (an earlier
    message of its queue is still pending: that one's delivery hands this one on, see ``next_in_line``).
    """
    with transaction.atomic():
        row = _due(now).annotate(waiting=Exists(_earlier_in_queue(now))).filter(pk=notification_id).first()
        if row is None:
            return "skipped", None, None
        if row.waiting:
            return "waiting", None, None
        return "claimed", row, _lease([row])


def claim_batch(*, limit: int, now: datetime) -> tuple[list[Notification], Lease | None]:
    """Lease up to ``limit`` due rows that may be sent now, oldest id first (so a queue's messages come in
    order). A row waits (is not claimed) while an earlier message of its queue holds it back: one not due
    (waiting for its retry) or leased by another worker is excluded in SQL; one another relay is claiming at
    this very moment (skipped by SKIP LOCKED) by ``_first_in_line``.
    """
    waiting_behind = _earlier_in_queue(now).filter(Q(next_attempt_at__gt=now) | Q(leased_until__gt=now))
    with transaction.atomic():
        rows = list(_due(now).filter(~Exists(waiting_behind)).order_by("pk")[:limit])
        rows = _first_in_line(rows, now)
        if not rows:
            return [], None
        return rows, _lease(rows)


def _first_in_line(rows: list[Notification], now: datetime) -> list[Notification]:
    """``rows`` without those behind an earlier message of their queue that is not among them."""
    if not rows:
        return rows
    claimed = [row.pk for row in rows]
    outside = (
        Notification.objects.filter(
            holding_back(now), ticket_id__in={row.ticket_id for row in rows}, pk__lt=max(claimed)
        )
        .exclude(pk__in=claimed)
        .order_by()  # no ORDER BY columns in the GROUP BY
        .values_list("ticket_id", "channel", "recipient")
        .annotate(first=Min("pk"))
    )
    first_outside = {(ticket, channel, recipient): first for ticket, channel, recipient, first in outside}
    return [row for row in rows if row.pk < first_outside.get(queue_of(row), row.pk + 1)]


def next_in_line(notification_id: int) -> int | None:
    """The id of the next pending message in the queue of ``notification_id`` (after that one was sent or
    dead-lettered): one indexed read (the queue index)."""
    queue = Notification.objects.filter(pk=notification_id)
    return (
        Notification.objects.filter(
            status=Status.PENDING,
            pk__gt=notification_id,
            ticket_id=queue.values("ticket_id")[:1],
            channel=queue.values("channel")[:1],
            recipient=queue.values("recipient")[:1],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def record(*, lease: Lease, attempted: list[Notification], unsent: Iterable[Notification] = ()) -> list[int]:
    """Write the outcomes of the attempted rows (as ``relay._attempt`` left them on the objects) and give the
    unsent rows back, in one short transaction, on the rows this lease still holds. Returns the ids of the
    attempted rows it could not record because their lease was lost (it expired, and another worker took them).

    The sent rows in one UPDATE (``bulk_update`` builds a CASE per field and row, ten times the cost), the
    failures (rare) one by one. ``sent_at`` is when the outcome is recorded.
    """
    now = timezone.now()
    lost: list[int] = []
    with transaction.atomic():
        commit_without_waiting_for_the_disk()
        ours = Notification.objects.filter(lease_owner=lease.owner)
        sent = [row.pk for row in attempted if row.status == Status.SENT]
        if sent:
            written = ours.filter(pk__in=sent).update(
                status=Status.SENT,
                sent_at=now,
                last_error="",
                attempts=F("attempts") + 1,
                failing_since=None,
                **RELEASED,
            )
            if written < len(sent):  # rare: find which (those carrying this very record)
                mine = Notification.objects.filter(pk__in=sent, status=Status.SENT, sent_at=now, lease_owner="")
                lost += sorted(set(sent) - set(mine.values_list("pk", flat=True)))
        for row in attempted:
            if row.status != Status.SENT and not ours.filter(pk=row.pk).update(
                status=row.status,
                attempts=row.attempts,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                failing_since=Coalesce(F("failing_since"), now),
                **RELEASED,
            ):
                lost.append(row.pk)
        unsent_ids = [row.pk for row in unsent]
        if unsent_ids:
            ours.filter(pk__in=unsent_ids).update(**RELEASED)
    if lost:
        logger.warning(
            "notifications %s were attempted after their lease (%s) had expired and another worker took them: "
            "it sends them again with the same de-duplication key",
            lost,
            lease.owner,
        )
    return lost
