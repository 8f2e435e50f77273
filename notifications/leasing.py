"""Claiming outbox rows for delivery: a lease, taken and given back in short transactions of their own.

Sending a message may take as long as the outgoing request's total deadline; no transaction is open and no
row lock is held meanwhile:

1. **Claim** (one statement, its own short transaction): ``UPDATE … SET lease_owner = <token of this claim>,
   next_attempt_at = now + KEFU_NOTIFY_LEASE_SECONDS WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING
   …``, committed as it returns; then one read of the shops' signing secrets for the batch's webhooks. The row
   locks last for that statement only; after it the lease keeps other workers away: a leased row is not due
   until its lease ends (``next_attempt_at`` is the lease's end while it is leased). Neither column is indexed,
   so on PostgreSQL the lease is an in-place (HOT) update that writes no index entry.
2. **Send**, outside any transaction (``notifications.relay``).
3. **Record** (short transactions again; the sent rows in one statement): the outcome is written, and the
   lease cleared, only on the rows whose ``lease_owner`` is still this claim's. A lease that ended while its
   worker was stuck lets another worker take the row and send it again (with the same de-duplication key, so
   the receiver drops the duplicate); the first worker's late outcome then changes nothing.

A worker killed while sending leaves its rows leased: they are due again when the lease ends.

The claimed rows come back as ``notifications.channels.Message`` tuples, built from the claim statement's rows
(only the columns the senders read; no model instance, no ORM row handling: that per-message work is what
the relay costs over a plain loop of POSTs). The outcome of an attempt is an ``Attempt``, which ``record`` writes.

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

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Field
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.channels import Message, ShopSigning
from notifications.models import Channel, Notification, Status
from orders.models import Shop
from tickets.models import Ticket

# The outbox columns the claim returns: Message's fields but the shop (read afterwards), in their order (the
# fields are named as the columns).
CLAIMED_COLUMNS = Message._fields[: Message._fields.index("shop")]

Queue = tuple[int, str, str]  # (ticket id, channel, recipient)

logger = logging.getLogger(__name__)

_HOST = socket.gethostname()[:30]


def queue_of(message: Message) -> Queue:
    return (message.ticket_id, message.channel, message.recipient)


@dataclass(frozen=True)
class Attempt:
    """One attempt to send a leased message, as ``record`` writes it."""

    message: Message
    outcome: Literal["sent", "failed", "dead"]
    error: str = ""  # failed or dead: why (masked and cut to length)
    retry_at: datetime | None = None  # failed: when it is due again


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
        [f"{n}.{column}" for column in CLAIMED_COLUMNS]
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


def _claim(*, limit: int, now: datetime, notification_id: int | None = None) -> tuple[list[Message], Lease]:
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
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(one=notification_id is not None), params)
        rows = sorted(cursor.fetchall())  # by id, the first column
    in_line = _in_line(rows)
    if len(in_line) < len(rows):
        with transaction.atomic():
            commit_without_waiting_for_the_disk()
            give_back(lease=lease, ids=[row[0] for row in rows if row[0] not in in_line])
    claimed = [row for row in rows if row[0] in in_line]
    shops = _shops(ticket_ids={ticket_id for _, ticket_id, _, channel, *_ in claimed if channel == Channel.WEBHOOK})
    return [_message(row, shops) for row in claimed], lease


def _message(row: Sequence[Any], shops: dict[int, ShopSigning]) -> Message:
    """A claimed row (``CLAIMED_COLUMNS``, then ``previous``) as the senders read it."""
    pk, ticket_id, event, channel, recipient, subject, body, payload, dedup_key, attempts, _previous = row
    payload = json.loads(payload)  # JSONField's column: text on PostgreSQL (Django loads jsonb as text) and SQLite
    shop = shops.get(ticket_id)
    return Message(pk, ticket_id, event, channel, recipient, subject, body, payload, dedup_key, attempts, shop)


def _shops(*, ticket_ids: set[int]) -> dict[int, ShopSigning]:
    """What the webhooks of these tickets are signed with (``ShopSigning``: the shop's columns of those names),
    by ticket id: one plain query for a batch (the ORM took longer to compose it than the database to run it)."""
    if not ticket_ids:
        return {}
    columns = ", ".join(f"s.{name}" for name in ShopSigning._fields)
    sql = f"""
        SELECT t.id, {columns} FROM {Ticket._meta.db_table} t JOIN {Shop._meta.db_table} s ON s.id = t.shop_id
        WHERE t.id IN ({", ".join(["%s"] * len(ticket_ids))})
    """  # noqa: S608 - table and column names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ticket_ids))
        return {
            pk: ShopSigning(code, secret, previous, _as_the_orm_reads(Shop.webhook_secret_previous_until.field, until))
            for pk, code, secret, previous, until in cursor.fetchall()
        }


def _as_the_orm_reads(field: Field[Any, Any], value: Any) -> Any:
    """A column's ``value`` from a plain query, converted as the ORM converts it (SQLite: a datetime is text)."""
    for convert in connection.ops.get_db_converters(field.get_col(field.model._meta.db_table)):
        value = convert(value, field, connection)
    return value


def _in_line(rows: list[Sequence[Any]]) -> set[int]:
    """The ids of the claimed ``rows`` (by id) but those behind an earlier message of their queue that this
    claim does not hold (``previous``, the last column: one another relay is claiming at the same moment, or
    one out of line itself)."""
    taken: set[int] = set()
    for row in rows:
        previous = row[-1]
        if previous is None or previous in taken:
            taken.add(row[0])
    return taken


def claim_one(*, notification_id: int, now: datetime) -> tuple[str, Message | None, Lease | None]:
    """Lease one notification if it may be sent now. Returns ("claimed", message, lease), or ("skipped", None,
    None) (not pending, not due, leased or being claimed by another worker), or ("waiting", None, None) (an
    earlier message of its queue is still pending: that one's delivery hands this one on, see ``next_in_line``).
    """
    messages, lease = _claim(limit=1, now=now, notification_id=notification_id)
    if messages:
        return "claimed", messages[0], lease
    due = Notification.objects.filter(
        pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now, lease_owner=""
    )
    return ("waiting" if due.exists() else "skipped"), None, None


def claim_batch(*, limit: int, now: datetime) -> tuple[list[Message], Lease | None]:
    """Lease up to ``limit`` due rows that may be sent now, oldest id first (so a queue's messages come in
    order and are sent one after the other)."""
    messages, lease = _claim(limit=limit, now=now)
    return (messages, lease) if messages else ([], None)


def give_back(*, lease: Lease, ids: Iterable[int]) -> None:
    """Clear the lease of the rows ``ids`` still held by ``lease``: due again at once, for the next claim."""
    ids = list(ids)
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


def record(*, lease: Lease, attempted: list[Attempt], unsent: Iterable[Message] = ()) -> list[int]:
    """Write the outcomes of the ``attempted`` and give the ``unsent`` messages back, on the rows this lease still
    holds. Returns the ids of the attempted rows it could not record because their lease was lost (it expired,
    and another worker took them).

    The sent rows in one UPDATE that is its own transaction (``_record_sent``); the failures (rare, one by one)
    and the unsent rows in one short transaction. ``sent_at`` is when the outcome is recorded.
    """
    now = timezone.now()
    sent = [attempt.message.id for attempt in attempted if attempt.outcome == "sent"]
    lost = sorted(set(sent) - _record_sent(lease=lease, ids=sent, now=now)) if sent else []
    failed = [attempt for attempt in attempted if attempt.outcome != "sent"]
    unsent_ids = [message.id for message in unsent]
    if failed or unsent_ids:
        with transaction.atomic():
            commit_without_waiting_for_the_disk()
            ours = Notification.objects.filter(lease_owner=lease.owner)
            for attempt in failed:
                retry = {"next_attempt_at": attempt.retry_at} if attempt.retry_at else {}  # dead: never due again
                if not ours.filter(pk=attempt.message.id).update(
                    status=Status.DEAD if attempt.outcome == "dead" else Status.PENDING,
                    attempts=attempt.message.attempts + 1,
                    last_error=attempt.error,
                    failing_since=Coalesce(F("failing_since"), now),
                    lease_owner="",
                    **retry,
                ):
                    lost.append(attempt.message.id)
            give_back(lease=lease, ids=unsent_ids)
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
