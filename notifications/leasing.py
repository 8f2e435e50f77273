"""Claiming outbox rows for delivery: a lease, taken and given back in short transactions of their own.

Sending a message may take as long as the outgoing request's total deadline; no transaction is open and no
row lock is held meanwhile:

1. **Claim** (one statement, its own short transaction): ``UPDATE … SET lease_owner = <token of this claim>,
   next_attempt_at = now + KEFU_NOTIFY_LEASE_SECONDS WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING
   …``, committed as it returns; then one read of the shops' signing secrets for the batch's tickets. The row
   locks last for that statement only; after it the lease keeps other workers away: a leased row is not due
   until its lease ends (``next_attempt_at`` is the lease's end while it is leased). Neither column is indexed,
   so on PostgreSQL the lease is an in-place (HOT) update that writes no index entry.
2. **Send**, outside any transaction (``notifications.relay``).
3. **Record** (short transactions again; the sent rows in one statement): the outcome is written, and the
   lease cleared, only on the rows whose ``lease_owner`` is still this claim's. A lease that ended while its
   worker was stuck lets another worker take the row and send it again (with the same de-duplication key, so
   the receiver drops the duplicate); the first worker's late outcome then changes nothing.

A worker killed while sending leaves its rows leased: they are due again when the lease ends.

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
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Notification, Status
from tickets.models import Ticket

# Set on each claimed row, from its ticket's shop: what notifications.channels.webhook signs with (see
# webhook.shop_of).
SHOP_COLUMNS = {
    "shop_code": F("shop__code"),
    "shop_webhook_secret": F("shop__webhook_secret"),
    "shop_webhook_secret_previous": F("shop__webhook_secret_previous"),
    "shop_webhook_secret_previous_until": F("shop__webhook_secret_previous_until"),
}

Queue = tuple[int, str, str]  # (ticket id, channel, recipient)

logger = logging.getLogger(__name__)

_HOST = socket.gethostname()[:30]


def queue_of(notification: Notification) -> Queue:
    return (notification.ticket_id, notification.channel, notification.recipient)


@dataclass(frozen=True)
class Lease:
    """One claim's hold on its rows: the owner token written on them, and when the hold ends."""

    owner: str
    ends: float  # time.monotonic() when the lease ends
    due: datetime  # when the claimed rows were due (at the latest): a row given back is due from then again

    def seconds_left(self) -> float:
        return self.ends - time.monotonic()


def _lease_token() -> str:
    """Who holds a row (shown in the admin): host, process and a random part unique to the claim."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def commit_without_waiting_for_the_disk() -> None:
    """A claim or an outcome need not wait for the WAL flush (an fsync per commit, more than the POST costs):
    should the database crash before it is flushed, the row is pending and unleased again and is sent again
    with the same dedup key. The outbox row itself was committed, durably, with the ticket change. Called inside
    the transaction, at any point before its commit (PostgreSQL reads the setting when the transaction commits).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _no_flush() -> tuple[str, str]:
    """``commit_without_waiting_for_the_disk`` for one UPDATE that is its own transaction, without a round trip
    of its own: a CTE that sets ``synchronous_commit`` off for the statement's transaction, and the FROM clause
    that makes the UPDATE read it (PostgreSQL runs only the CTEs a statement reads). Nothing on other databases.
    Transaction-scoped, like SET LOCAL: the connection's setting is untouched (safe behind PgBouncer)."""
    if connection.vendor != "postgresql":
        return "", ""
    return "no_flush AS (SELECT set_config('synchronous_commit', 'off', true))", " FROM no_flush"


def _claim_sql(*, one: bool) -> str:
    """The claim statement: lease the due rows that may go now, oldest id first, and return them with the id of
    the message before each in its queue (``previous``).

    One message waits behind any earlier pending message of its queue. A batch leaves out the rows behind a
    message that is failing and waiting for its retry (one probe of ``notification_failing_idx``, which holds
    only such messages), so they never fill a batch while a receiver is down. A row behind a message another
    worker holds (leased, or being claimed at this very moment: skipped by SKIP LOCKED) is seen through
    ``previous`` and given back at once (``_in_line``).

    The statement writes only ``lease_owner`` and ``next_attempt_at``, which no index covers, so PostgreSQL
    updates each row in place on its page (a HOT update: no index entry is written; the table's fillfactor
    leaves the room, migration 0005).
    Written in SQL because the ORM cannot UPDATE … RETURNING; PostgreSQL and SQLite (≥ 3.35) both run it.
    """
    n = Notification._meta.db_table
    queue = "e.ticket_id = {row}.ticket_id AND e.channel = {row}.channel AND e.recipient = {row}.recipient"

    def before_in_queue(row: str) -> str:  # the messages of ``row``'s queue before it that hold it back
        return (
            f"{queue.format(row=row)} AND e.id < {row}.id AND e.status = 'pending'"
            " AND (e.failing_since IS NULL OR e.failing_since > %(hold_since)s)"
        )

    if one:
        held_back = f"SELECT 1 FROM {n} e WHERE {before_in_queue('c')}"  # noqa: S608
    else:
        held_back = (
            f"SELECT 1 FROM {n} e WHERE {queue.format(row='c')} AND e.id < c.id AND e.status = 'pending'"  # noqa: S608
            " AND e.failing_since IS NOT NULL AND e.failing_since > %(hold_since)s AND e.next_attempt_at > %(now)s"
        )
    lock = " FOR UPDATE OF c SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    # RETURNING names the updated table itself (SQLite allows no alias there).
    returning = ", ".join(
        [f"{n}.{field.column}" for field in Notification._meta.concrete_fields]
        + [f"(SELECT max(e.id) FROM {n} e WHERE {before_in_queue(n)}) AS previous"]  # noqa: S608
    )
    no_flush, read_it = _no_flush()
    return f"""
        WITH due AS (
            SELECT c.id FROM {n} c
            WHERE c.status = 'pending' AND c.next_attempt_at <= %(now)s {"AND c.id = %(id)s" if one else ""}
              AND NOT EXISTS ({held_back})
            ORDER BY c.id LIMIT %(limit)s{lock}
        ){f", {no_flush}" if no_flush else ""}
        UPDATE {n} SET lease_owner = %(owner)s, next_attempt_at = %(until)s{read_it}
        WHERE {n}.id IN (SELECT id FROM due)
        RETURNING {returning}
    """  # noqa: S608 - table and column names from the models, values as parameters


def _claim(*, limit: int, now: datetime, notification_id: int | None = None) -> tuple[list[Notification], Lease]:
    """Run the claim statement (committed with it); rows out of line (see ``_in_line``) are given back at once."""
    seconds = settings.KEFU_NOTIFY_LEASE_SECONDS
    lease = Lease(owner=_lease_token(), ends=time.monotonic() + seconds, due=now)
    at = connection.ops.adapt_datetimefield_value  # as the ORM passes a datetime (SQLite: UTC text)
    params = {
        "now": at(now),
        "hold_since": at(now - timedelta(seconds=settings.KEFU_NOTIFY_ORDER_HOLD_SECONDS)),
        "limit": limit,
        "owner": lease.owner,
        "until": at(timezone.now() + timedelta(seconds=seconds)),
        "id": notification_id,
    }
    # One statement, its own transaction (no BEGIN or COMMIT round trips): committed when it returns.
    rows = sorted(Notification.objects.raw(_claim_sql(one=notification_id is not None), params), key=lambda row: row.pk)
    in_line = _in_line(rows)
    if len(in_line) < len(rows):
        with transaction.atomic():
            commit_without_waiting_for_the_disk()
            give_back(lease=lease, rows=[row for row in rows if row not in in_line])
    _add_shop_columns(in_line)
    return in_line, lease


def _add_shop_columns(rows: list[Notification]) -> None:
    """What the webhook of each row signs with (``SHOP_COLUMNS``), read for all the batch's tickets at once."""
    if not rows:
        return
    shops = {
        values["pk"]: values
        for values in Ticket.objects.filter(pk__in={row.ticket_id for row in rows}).values("pk", **SHOP_COLUMNS)
    }
    for row in rows:
        vars(row).update({name: shops[row.ticket_id][name] for name in SHOP_COLUMNS})


def _in_line(rows: list[Notification]) -> list[Notification]:
    """``rows`` (by id) without those behind an earlier message of their queue that this claim does not hold
    (``previous``: one another relay is claiming at the same moment, or one out of line itself)."""
    taken: set[int] = set()
    for row in rows:
        previous = vars(row)["previous"]  # a column of the claim statement
        if previous is None or previous in taken:
            taken.add(row.pk)
    return [row for row in rows if row.pk in taken]


def claim_one(*, notification_id: int, now: datetime) -> tuple[str, Notification | None, Lease | None]:
    """Lease one notification if it may be sent now. Returns ("claimed", row, lease), or ("skipped", None, None)
    (not pending, not due, leased or being claimed by another worker), or ("waiting", None, None) (an earlier
    message of its queue is still pending: that one's delivery hands this one on, see ``next_in_line``).
    """
    rows, lease = _claim(limit=1, now=now, notification_id=notification_id)
    if rows:
        return "claimed", rows[0], lease
    due = Notification.objects.filter(
        pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now, lease_owner=""
    )
    return ("waiting" if due.exists() else "skipped"), None, None


def claim_batch(*, limit: int, now: datetime) -> tuple[list[Notification], Lease | None]:
    """Lease up to ``limit`` due rows that may be sent now, oldest id first (so a queue's messages come in
    order and are sent one after the other)."""
    rows, lease = _claim(limit=limit, now=now)
    return (rows, lease) if rows else ([], None)


def give_back(*, lease: Lease, rows: Iterable[Notification]) -> None:
    """Clear the lease of ``rows`` still held by ``lease``: due again at once, for the next claim."""
    ids = [row.pk for row in rows]
    if ids:
        Notification.objects.filter(pk__in=ids, lease_owner=lease.owner).update(
            lease_owner="", next_attempt_at=lease.due
        )


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
    unsent rows back, on the rows this lease still holds. Returns the ids of the attempted rows it could not
    record because their lease was lost (it expired, and another worker took them).

    The sent rows in one UPDATE that is its own transaction (``_record_sent``); the failures (rare, one by one)
    and the unsent rows in one short transaction. ``sent_at`` is when the outcome is recorded.
    """
    now = timezone.now()
    sent = [row.pk for row in attempted if row.status == Status.SENT]
    lost = sorted(set(sent) - _record_sent(lease=lease, ids=sent, now=now)) if sent else []
    failed = [row for row in attempted if row.status != Status.SENT]
    unsent = list(unsent)
    if failed or unsent:
        with transaction.atomic():
            commit_without_waiting_for_the_disk()
            ours = Notification.objects.filter(lease_owner=lease.owner)
            for row in failed:
                if not ours.filter(pk=row.pk).update(
                    status=row.status,
                    attempts=row.attempts,
                    last_error=row.last_error,
                    next_attempt_at=row.next_attempt_at,
                    failing_since=Coalesce(F("failing_since"), now),
                    lease_owner="",
                ):
                    lost.append(row.pk)
            give_back(lease=lease, rows=unsent)
    if lost:
        logger.warning(
            "notifications %s were attempted after their lease (%s) had expired and another worker took them: "
            "it sends them again with the same de-duplication key",
            lost,
            lease.owner,
        )
    return lost


def _record_sent(*, lease: Lease, ids: list[int], now: datetime) -> set[int]:
    """Mark the rows ``ids`` sent where ``lease`` still holds them, in one statement that is its own transaction
    (no BEGIN or COMMIT round trips; the ORM's update() cannot carry ``_no_flush``); the ids it wrote."""
    n = Notification._meta.db_table
    no_flush, read_it = _no_flush()
    sql = f"""
        {f"WITH {no_flush}" if no_flush else ""}
        UPDATE {n} SET status = %s, sent_at = %s, last_error = '', attempts = attempts + 1, failing_since = NULL,
            lease_owner = ''{read_it}
        WHERE {n}.lease_owner = %s AND {n}.id IN ({", ".join(["%s"] * len(ids))})
        RETURNING {n}.id
    """  # noqa: S608 - table and column names from the model, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENT.value, connection.ops.adapt_datetimefield_value(now), lease.owner, *ids])
        return {pk for (pk,) in cursor.fetchall()}
