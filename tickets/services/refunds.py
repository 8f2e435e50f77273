"""Money back to the buyer: reserve under a row lock when the amount is fixed, then pay through the gateway.

Invariant: for every order line, ``refunded_amount`` (the sum of reservations) never exceeds
``paid_amount``. The service checks it under ``SELECT … FOR UPDATE`` on the order lines (ordered by pk,
after the ticket row) and the database's check constraint ``order_line_refund_within_paid`` backs it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.vocabulary import LogisticsState, ReturnState
from orders.models import ZERO, OrderLine
from tickets.actors import Actor
from tickets.errors import InvalidAmount, RefundExceedsPaid
from tickets.models import EventType, Kind, Priority, Refund, RefundStatus, ReturnTicket, Ticket, TicketLine
from tickets.payments import GatewayError, RefundRequest, get_gateway
from tickets.selectors import ticket_line_shares, ticket_refundable_amount
from tickets.services.acting import ticket_act
from tickets.services.engine import event_record, on_enter
from tickets.signals import refund_ready
from tickets.wording import system_reason

logger = logging.getLogger(__name__)

MAX_REFUND_ATTEMPTS = 5


def refund_reserve(*, ticket: Ticket, amount: Decimal, actor: Actor) -> Refund:
    """Reserve ``amount`` against the ticket's lines and create the pending refund.

    The caller holds the ticket's row lock. Raises ``RefundExceedsPaid`` (nothing written) when the lines
    do not have that much left; allocates line by line, in order-line order.
    """
    if amount is None or amount <= 0:
        raise InvalidAmount(_("A refund must be above ¥0.00."), field="amount")
    ticket_lines = list(TicketLine.objects.filter(ticket_id=ticket.pk).order_by("order_line_id"))
    order_lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update()
        .filter(pk__in=[tl.order_line_id for tl in ticket_lines])
        .order_by("pk")
    }
    for tl in ticket_lines:
        tl.order_line = order_lines[tl.order_line_id]
    cap = ticket_refundable_amount(lines=ticket_lines)
    if amount > cap:
        raise RefundExceedsPaid(
            _(
                "Ticket %(number)s can refund at most ¥%(cap)s (paid for its lines minus already refunded); "
                "¥%(asked)s asked."
            )
            % {"number": ticket.number, "cap": cap, "asked": amount},
            field="amount",
            refundable=str(cap),
        )
    allocations: dict[str, str] = {}
    left = amount
    for tl, share in zip(ticket_lines, ticket_line_shares(ticket_lines), strict=True):
        if left <= 0:
            break
        line = tl.order_line
        part = min(left, share - tl.refunded_amount, line.paid_amount - line.refunded_amount)
        if part <= 0:
            continue
        # The new totals are added here in Decimal, not with F() in SQL: the rows are locked, and SQLite adds
        # decimals as floating point (50.00 + 49.99 > 99.99 there), which would trip the check constraint
        # order_line_refund_within_paid exactly when a refund takes what is left of a line.
        line.refunded_amount += part
        tl.refunded_amount += part
        OrderLine.objects.filter(pk=line.pk).update(refunded_amount=line.refunded_amount)
        TicketLine.objects.filter(pk=tl.pk).update(refunded_amount=tl.refunded_amount)
        allocations[line.sku] = str(part)
        left -= part
    sequence = Refund.objects.filter(ticket_id=ticket.pk).count() + 1
    refund = Refund.objects.create(
        ticket_id=ticket.pk,
        amount=amount,
        idempotency_key=f"{ticket.number}-R{sequence}",
        allocations=allocations,
    )
    event_record(
        ticket=ticket,
        actor=actor,
        event_type=EventType.REFUND,
        payload={"refund": refund.idempotency_key, "amount": amount, "allocations": allocations, "status": "reserved"},
    )
    # robust: the reservation has committed; a broker that is down must not turn the caller's committed change
    # into an error. The refund then waits in refund_pending, whose SLA escalates it (no relay retries it yet).
    transaction.on_commit(lambda: _announce_ready(refund.pk), robust=True)
    return refund


@on_enter(Kind.RETURN, ReturnState.REFUND_PENDING)
def _reserve_on_refund_pending(ticket: Ticket, actor: Actor) -> None:
    if not isinstance(ticket, ReturnTicket):  # registered for returns only; the engine passes the kind's model
        raise TypeError(f"expected a ReturnTicket, got {type(ticket).__name__}")
    refund_reserve(ticket=ticket, amount=ticket.approved_amount or ZERO, actor=actor)


@on_enter(Kind.RETURN, ReturnState.REFUNDED)
def _resolve_origin_logistics(ticket: Ticket, actor: Actor) -> None:
    """A refund opened for a lost parcel resolves that logistics ticket when it is paid."""
    origin = ticket.origin
    if origin is not None and origin.kind == Kind.LOGISTICS and origin.state == LogisticsState.REFUNDING:
        ticket_act(ticket=origin, actor=actor, action="resolve", check_version=False)


def refund_execute(*, refund_id: int) -> Refund:
    """Pay a reserved refund through the gateway and complete the ticket. Idempotent.

    The gateway is called outside any lock, with the refund's idempotency key (a repeat never pays twice).
    On success the ticket moves ``refund_pending → refunded`` as the system. On failure the attempt is
    recorded and ``GatewayError`` re-raised for the caller's retry; after ``MAX_REFUND_ATTEMPTS`` the ticket
    is escalated (priority urgent, an escalation in the timeline).
    """
    refund = Refund.objects.select_related("ticket", "ticket__shop", "ticket__order").get(pk=refund_id)
    if refund.status != RefundStatus.PENDING:  # paid already, or failed for good until someone retries it
        return refund
    if refund.ticket.platform:
        # A marketplace pays its own refunds (agreeing on the platform is the payment): the refund is marked paid
        # when the platform says so (tickets.services.platform.refund_settle_on_platform), never paid here too.
        return refund
    request = RefundRequest(
        idempotency_key=refund.idempotency_key,
        amount=refund.amount,
        shop_code=refund.ticket.shop.code,
        order_number=refund.ticket.order.number,
        ticket_number=refund.ticket.number or "",
    )
    try:
        result = get_gateway().refund(request)
    except GatewayError as exc:
        _record_failure(refund_id=refund.pk, error=str(exc))
        raise
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status == RefundStatus.SUCCEEDED:
            return refund
        refund.status = RefundStatus.SUCCEEDED
        refund.gateway_reference = result.reference
        refund.attempts += 1
        refund.completed_at = timezone.now()
        refund.save(update_fields=["status", "gateway_reference", "attempts", "completed_at"])
        ticket = ReturnTicket.objects.get(pk=refund.ticket_id)
        if (
            ticket.state == ReturnState.REFUND_PENDING
            and not ticket.refunds.exclude(status=RefundStatus.SUCCEEDED).exists()
        ):
            ticket_act(
                ticket=ticket,
                actor=Actor.system("payment gateway"),
                action="complete_refund",
                refund=refund.idempotency_key,
                reference=result.reference,
                check_version=False,
            )
    return refund


def _record_failure(*, refund_id: int, error: str) -> None:
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        refund.attempts += 1
        refund.last_error = error[:2000]
        if refund.attempts >= MAX_REFUND_ATTEMPTS:
            refund.status = RefundStatus.FAILED
        refund.save(update_fields=["attempts", "last_error", "status"])
        if refund.status == RefundStatus.FAILED:
            Ticket.objects.filter(pk=refund.ticket_id).update(priority=Priority.URGENT, version=F("version") + 1)
            reason, payload = system_reason(
                "refund_failed", refund=refund.idempotency_key, attempts=refund.attempts, error=error[:500]
            )
            event_record(
                ticket=refund.ticket,
                actor=Actor.system("payment gateway"),
                event_type=EventType.ESCALATION,
                reason=reason,
                public=False,
                payload={**payload, "refund": refund.idempotency_key, "attempts": refund.attempts},
            )
            logger.error("refund %s failed %s times, escalated: %s", refund.idempotency_key, refund.attempts, error)


def refund_retry(*, refund: Refund, actor: Actor) -> Refund:
    """Operations put a failed refund back in line (after fixing the cause with the payment provider)."""
    from kefu.core.errors import Conflict

    with transaction.atomic():
        locked = Refund.objects.select_for_update().select_related("ticket").get(pk=refund.pk)
        if locked.status != RefundStatus.FAILED:
            raise Conflict(
                _("Refund %(refund)s is %(status)s; only a failed refund can be retried.")
                % {"refund": locked.idempotency_key, "status": locked.status},
                code="refund_not_failed",
            )
        locked.status = RefundStatus.PENDING
        locked.attempts = 0
        locked.save(update_fields=["status", "attempts"])
        event_record(
            ticket=locked.ticket,
            actor=actor,
            event_type=EventType.REFUND,
            public=False,
            payload={"refund": locked.idempotency_key, "status": "retry"},
        )
        transaction.on_commit(lambda: _announce_ready(locked.pk), robust=True)
    return locked


def _announce_ready(refund_id: int) -> None:
    """After the commit: the refund is there to be paid (``tickets.tasks`` queues its payment task)."""
    refund_ready.send(sender=Refund, refund_id=refund_id)


def refunds_relay(*, older_than_seconds: float = 120, limit: int = 200) -> int:
    """Pay pending refunds whose queued task never ran (broker down when they were reserved). Idempotent:
    the gateway call carries the refund's idempotency key. Returns how many were paid now.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    paid = 0
    ids = list(
        Refund.objects.filter(status=RefundStatus.PENDING, created_at__lt=cutoff, ticket__platform="")
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        try:
            if refund_execute(refund_id=pk).status == RefundStatus.SUCCEEDED:
                paid += 1
        except GatewayError:
            continue  # recorded by refund_execute; tried again at the next run
    return paid
