"""Staff decisions on a marketplace's case, carried out on the platform through a durable outbox.

``writeback_event_received`` subscribes to ``tickets.signals.ticket_event_recorded`` (connected in
``ConnectorsConfig.ready``): for a transition of a platform ticket (``Ticket.platform`` set) run by anyone but
the platform itself, it maps the transition to a neutral :class:`connectors.base.Command` (``command_for``)
and writes a ``WriteBack`` row in the decision's own transaction: no decision without its write-back, no
write-back for a decision that rolled back. After the commit the row's id goes to ``send_writeback_task``;
``relay_writebacks`` (beat) is the safety net and the way through a backlog.

Sending (``writeback_send``): the row is leased in a short transaction, the platform called outside any
transaction, the outcome recorded in another: sent; a transient or rate-limited failure retried with
exponential backoff and jitter; a permanent refusal (state changed on the platform, deadline passed, invalid
address) or too many attempts → dead, and the ticket handed back to the staff with the platform's message
(escalated, the message on the timeline). Platform transitions (ingestion) never write back: the platform
already knows.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.base import yuan_to_fen
from connectors.commands import Command, CommandName, ErrorKind, PlatformError
from connectors.models import PlatformCase, WriteBack, WriteBackStatus
from connectors.platforms import connector_class, connector_for
from kefu.core.outbound import mask_secrets
from tickets.actors import Actor, ActorKind
from tickets.models import Attachment, EventType, Ticket, TicketEvent
from tickets.services.platform import ticket_platform_refusal_record

logger = logging.getLogger(__name__)

# (kind, transition) → the command it is on the platform. Transitions not listed are kefu-side only
# (assignment, inspection notes, …). Keep in step with docs/platforms.md "Write-back".
AGREE_BY_APPROVAL = {("return", "approve"), ("return", "uphold_buyer"), ("exchange", "approve")}
REFUSALS = {
    ("return", "reject"),
    ("return", "fail_inspection"),
    ("exchange", "reject"),
    ("exchange", "fail_inspection"),
}
REFUNDS_AFTER_RECEIPT = {("return", "pass_inspection"), ("return", "pass_inspection_partly")}
RECEIPTS = {("return", "receive"), ("exchange", "receive")}
OFFERS = {("return", "counter_offer")}
EVIDENCE = {("return", "submit_evidence")}
MAX_EVIDENCE_FILES = 5  # the staff's latest attachments go with a statement (platforms take a few images)
SHIPMENTS = {
    ("exchange", "ship_replacement"): CommandName.SHIP_EXCHANGE,
    ("logistics", "mark_reshipped"): CommandName.SHIP_RESEND,
}


def _fen(amount: Any) -> int | None:
    return None if amount is None else yuan_to_fen(amount)


def command_for(*, event: TicketEvent, ticket: Ticket, case: PlatformCase) -> Command | None:
    """The platform command a transition of ``ticket`` stands for, or None (kefu-side only)."""
    key = (ticket.kind, event.transition)
    extra = connector_class(case.platform).command_extra(case.raw)
    base: dict[str, Any] = {"case_id": case.case_id, "version": case.version, "extra": extra}
    if key in AGREE_BY_APPROVAL:
        if ticket.kind == "return" and (getattr(ticket, "refund_only", False) or event.to_state == "refund_pending"):
            amount = getattr(ticket, "approved_amount", None) or getattr(ticket, "requested_amount", None)
            return Command(CommandName.AGREE_REFUND, amount_fen=_fen(amount), reason=event.reason, **base)
        return Command(
            CommandName.AGREE_RETURN, address_id=case.connection.return_address_id, reason=event.reason, **base
        )
    if key in REFUSALS:
        return Command(CommandName.REFUSE, reason=event.reason, **base)
    if key in REFUNDS_AFTER_RECEIPT:
        return Command(CommandName.AGREE_REFUND, amount_fen=_fen(getattr(ticket, "approved_amount", None)), **base)
    if key in RECEIPTS:
        return Command(CommandName.CONFIRM_RECEIVED, **base)
    if key in OFFERS:
        offered = getattr(ticket, "offered_amount", None)
        return Command(
            CommandName.COUNTER_OFFER,
            amount_fen=_fen(offered),
            reason=getattr(ticket, "offer", ""),
            address_id=case.connection.return_address_id,
            **base,
        )
    if key in EVIDENCE:
        return Command(
            CommandName.UPLOAD_EVIDENCE,
            reason=(event.payload or {}).get("statement") or event.reason,
            **{**base, "extra": {**extra, "attachments": _staff_attachments(ticket)}},
        )
    if key in SHIPMENTS:
        payload = event.payload or {}
        return Command(
            SHIPMENTS[key], carrier=payload.get("carrier", ""), waybill=payload.get("tracking_number", ""), **base
        )
    return None


def _staff_attachments(ticket: Ticket) -> list[str]:
    """The ids of the evidence the staff attached to the ticket (newest first), sent with the statement
    (``Command.extra["attachments"]``; ``Command.evidence`` is for proofs already on the platform)."""
    ids = (
        Attachment.objects.filter(ticket_id=ticket.pk, actor_kind=ActorKind.STAFF)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[:MAX_EVIDENCE_FILES]
    )
    return [str(pk) for pk in ids]


def evidence_files(command: Command) -> Command:
    """The command with its evidence attachments' contents (name, content type, bytes) in ``extra["files"]``;
    read when it is sent, never stored in the outbox."""
    ids = command.extra.get("attachments") or ()
    if command.name != CommandName.UPLOAD_EVIDENCE or not ids:
        return command
    files = []
    for attachment in Attachment.objects.filter(pk__in=[int(pk) for pk in ids]).order_by("pk"):
        with attachment.file.open("rb") as handle:
            files.append((attachment.original_name, attachment.content_type, handle.read()))
    return replace(command, extra={**command.extra, "files": files})


def writeback_event_received(sender: Any, *, event: TicketEvent, ticket: Ticket, **kwargs: Any) -> None:
    """Receiver of ``ticket_event_recorded``: enqueue the write-back of a decision on a platform's case.

    Runs inside the decision's transaction. A shop's own ticket (no ``platform``) costs no query.
    """
    if not ticket.platform or event.event_type != EventType.TRANSITION or event.actor_kind == ActorKind.PLATFORM:
        return
    case = PlatformCase.objects.select_related("connection").filter(ticket_id=ticket.pk).first()
    if case is None:
        return
    command = command_for(event=event, ticket=ticket, case=case)
    if command is None:
        return
    row = WriteBack.objects.create(
        connection=case.connection, case=case, ticket_id=ticket.pk, command=command.name, payload=command.as_payload()
    )
    transaction.on_commit(lambda: _hand_over(row.pk), robust=True)


def _hand_over(writeback_id: int) -> None:
    """After the commit: queue the send (by name: the tasks module imports this one). Publishing is only
    tried once (``retry=False``): with the broker down the row waits for ``relay_writebacks``."""
    current_app.tasks["connectors.tasks.send_writeback_task"].apply_async((writeback_id,), retry=False)


def backoff_seconds(attempts: int, *, at_least: float | None = None) -> float:
    """Exponential backoff with ±20 % jitter (base, 2·base, 4·base, … capped), never below ``at_least``."""
    base = settings.KEFU_CONNECTOR_RETRY_BASE_SECONDS
    delay = min(settings.KEFU_CONNECTOR_RETRY_MAX_SECONDS, base * (2 ** max(0, attempts - 1)))
    delay *= random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not cryptography
    return max(delay, at_least or 0.0)


def _claim(writeback_id: int, now: datetime) -> WriteBack | None:
    """Lease one pending, due row (a short transaction); None when it is not there to send."""
    lease = now + timedelta(seconds=settings.KEFU_CONNECTOR_LEASE_SECONDS)
    with transaction.atomic():
        claimable = Q(leased_until__isnull=True) | Q(leased_until__lt=now)
        updated = WriteBack.objects.filter(
            claimable, pk=writeback_id, status=WriteBackStatus.PENDING, next_attempt_at__lte=now
        ).update(leased_until=lease)
        if not updated:
            return None
    return WriteBack.objects.select_related("connection", "case", "ticket").get(pk=writeback_id)


def writeback_send(*, writeback_id: int, now: datetime | None = None) -> str:
    """Send one write-back if it is pending and due. Returns "sent", "retry", "dead" or "skipped" (not pending,
    not due, or another worker holds its lease). The platform is called outside any transaction."""
    now = now or timezone.now()
    row = _claim(writeback_id, now)
    if row is None:
        return "skipped"
    # The case's latest version: a later snapshot (a deadline, a message) bumps it on platforms that lock
    # optimistically, and the decision stands on the ticket, which ingestion keeps in step.
    command = Command.from_payload({**row.payload, "version": row.case.version})
    try:
        command = evidence_files(command)
        connector_for(row.connection).execute(command)
    except PlatformError as exc:
        return _record_failure(row, exc)
    except Exception as exc:  # a connector's bug: retried, then dead-lettered, never lost
        logger.exception("write-back %s: %s failed unexpectedly", row.pk, row.command)
        return _record_failure(row, PlatformError(ErrorKind.TRANSIENT, type(exc).__name__, str(exc)))
    WriteBack.objects.filter(pk=row.pk).update(
        status=WriteBackStatus.SENT, sent_at=timezone.now(), attempts=row.attempts + 1, last_error="", leased_until=None
    )
    return "sent"


def _record_failure(row: WriteBack, exc: PlatformError) -> str:
    attempts = row.attempts + 1
    # The kind first: reconciliation resends only what died of retries, not what the platform refused.
    error = mask_secrets(f"{exc.kind}: {exc.code}: {exc.message}")[:2000]
    if exc.retryable and attempts < settings.KEFU_CONNECTOR_MAX_ATTEMPTS:
        delay = backoff_seconds(attempts, at_least=exc.retry_after)
        WriteBack.objects.filter(pk=row.pk).update(
            attempts=attempts,
            last_error=error,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            leased_until=None,
        )
        logger.warning("write-back %s (%s) failed, retry in %.0fs: %s", row.pk, row.command, delay, error)
        return "retry"
    with transaction.atomic():
        WriteBack.objects.filter(pk=row.pk).update(
            status=WriteBackStatus.DEAD, attempts=attempts, last_error=error, leased_until=None
        )
        ticket_platform_refusal_record(
            ticket=row.ticket.as_kind(),
            actor=Actor.platform(row.connection.platform),
            command=row.command,
            message=exc.message if not exc.retryable else error,
        )
    logger.error("write-back %s (%s) dead after %s attempts: %s", row.pk, row.command, attempts, error)
    return "dead"


def writeback_resend(*, writeback_id: int) -> WriteBack:
    """Put a dead (or sent) write-back back in line, now (the admin's "resend")."""
    WriteBack.objects.filter(pk=writeback_id).update(
        status=WriteBackStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), leased_until=None
    )
    transaction.on_commit(lambda: _hand_over(writeback_id), robust=True)
    return WriteBack.objects.get(pk=writeback_id)


def relay_writebacks(*, limit: int = 200, now: datetime | None = None) -> dict[str, int]:
    """Send up to ``limit`` pending, due write-backs, oldest first. Returns the count of each outcome."""
    now = now or timezone.now()
    ids = list(
        WriteBack.objects.filter(status=WriteBackStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcomes: dict[str, int] = {}
    for pk in ids:
        outcome = writeback_send(writeback_id=pk, now=now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
