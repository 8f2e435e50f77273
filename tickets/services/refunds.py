"""Money back to the buyer: reserve under a row lock when the amount is fixed, then pay through the gateway.

Invariant: for every order line, ``refunded_amount`` (the sum of reservations) never exceeds
``paid_amount``. The service checks it under ``SELECT … FOR UPDATE`` on the order lines (ordered by pk,
after the ticket row) and the database's check constraint ``order_line_refund_within_paid`` backs it.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.vocabulary import LogisticsState, ReturnState
from orders.models import ZERO, OrderLine
from tickets.actors import Actor, ActorKind
from tickets.errors import InvalidAmount, RefundExceedsPaid
from tickets.locks import ticket_lock
from tickets.models import EventType, Kind, Priority, Refund, RefundStatus, ReturnTicket, Ticket, TicketLine
from tickets.payments import (
    MANUAL,
    GatewayError,
    PayoutAnswer,
    PayoutStatus,
    RefundRequest,
    gateway_for,
)
from tickets.selectors import ticket_line_shares, ticket_refundable_amount
from tickets.services.acting import ticket_act
from tickets.services.engine import event_record, on_enter
from tickets.services.postage import postage_refund_due
from tickets.signals import refund_ready
from tickets.wording import system_reason

logger = logging.getLogger(__name__)

MAX_REFUND_ATTEMPTS = 5
PAYMENT_ACTOR = Actor.system("payment gateway")


def refund_reserve(*, ticket: Ticket, amount: Decimal, actor: Actor, postage: Decimal = ZERO) -> Refund:
    """Reserve ``amount`` against the ticket's lines and create the pending refund.

    The caller holds the ticket's row lock. Raises ``RefundExceedsPaid`` (nothing written) when the lines
    do not have that much left; allocates line by line, in order-line order. ``postage``: return postage the shop
    refunds on top (tickets.services.postage), paid with the goods in one refund but allocated to no line.
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
        amount=amount + postage,
        postage_amount=postage,
        idempotency_key=f"{ticket.number}-R{sequence}",
        allocations=allocations,
    )
    event_record(
        ticket=ticket,
        actor=actor,
        event_type=EventType.REFUND,
        payload={
            "refund": refund.idempotency_key,
            "amount": refund.amount,
            "allocations": allocations,
            "status": "reserved",
            **({"goods": amount, "postage": postage} if postage else {}),
        },
    )
    # robust: the reservation has committed; a broker that is down must not turn the caller's committed change
    # into an error. The refund then waits as requested; the relay (tickets.services.refund_sweeps) submits it.
    transaction.on_commit(lambda: _announce_ready(refund.pk), robust=True)
    return refund


@on_enter(Kind.RETURN, ReturnState.REFUND_PENDING)
def _reserve_on_refund_pending(ticket: Ticket, actor: Actor) -> None:
    if not isinstance(ticket, ReturnTicket):  # registered for returns only; the engine passes the kind's model
        raise TypeError(f"expected a ReturnTicket, got {type(ticket).__name__}")
    refund_reserve(
        ticket=ticket, amount=ticket.approved_amount or ZERO, actor=actor, postage=postage_refund_due(ticket)
    )


@on_enter(Kind.RETURN, ReturnState.REFUNDED)
def _resolve_origin_logistics(ticket: Ticket, actor: Actor) -> None:
    """A refund opened for a lost parcel resolves that logistics ticket when it is paid."""
    origin = ticket.origin
    if origin is not None and origin.kind == Kind.LOGISTICS and origin.state == LogisticsState.REFUNDING:
        ticket_act(ticket=origin, actor=actor, action="resolve", check_version=False)


def refund_execute(*, refund_id: int) -> Refund:
    """Submit a requested refund to its payer and record the answer (SUBMITTED, SUCCEEDED or FAILED). Idempotent.

    The payer is the order's gateway (``Order.payment_provider`` through ``gateway_for``); the call is made
    outside any lock, with the refund's idempotency key, so a repeat never pays twice. A marketplace order's
    refund is submitted to its platform (agreeing there is the payment): it waits, payer = the platform's code,
    until ``tickets.services.platform.refund_settle_on_platform`` confirms it. When the gateway does not answer
    the attempt is recorded and ``GatewayError`` re-raised for the caller's retry; after ``MAX_REFUND_ATTEMPTS``
    the refund fails and the ticket is escalated (priority urgent, an escalation in the timeline).
    """
    refund = Refund.objects.select_related("ticket", "ticket__shop", "ticket__order").get(pk=refund_id)
    if refund.status != RefundStatus.REQUESTED:  # with its payer already, or failed until someone retries it
        return refund
    ticket = refund.ticket
    if ticket.platform:
        answer = PayoutAnswer(status=PayoutStatus.SUBMITTED, payer=ticket.platform)
        return refund_settle(idempotency_key=refund.idempotency_key, answer=answer, actor=PAYMENT_ACTOR)
    try:
        gateway = gateway_for(provider=ticket.order.payment_provider, shop_code=ticket.shop.code)
        answer = gateway.submit(refund_request(refund))
    except (GatewayError, ImproperlyConfigured) as exc:
        _record_failure(refund_id=refund.pk, error=str(exc))
        raise GatewayError(str(exc)) from exc
    Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1)  # the attempt that got an answer
    return refund_settle(idempotency_key=refund.idempotency_key, answer=answer, actor=PAYMENT_ACTOR)


def refund_request(refund: Refund) -> RefundRequest:
    """What a gateway is told about ``refund`` (its ticket, shop and order loaded)."""
    ticket = refund.ticket
    order_total = OrderLine.objects.filter(order_id=ticket.order_id).aggregate(total=Sum("paid_amount"))["total"]
    return RefundRequest(
        idempotency_key=refund.idempotency_key,
        amount=refund.amount,
        shop_code=ticket.shop.code,
        order_number=ticket.order.number,
        order_total=order_total or ZERO,
        ticket_number=ticket.number or "",
        reason=_("After-sales ticket %(number)s") % {"number": ticket.number},
    )


def refund_poll(*, refund_id: int) -> Refund:
    """Ask the gateway about a submitted refund and settle what it says. A gateway that does not answer leaves
    the refund as it is (asked again at the next poll; the overdue escalation covers one that never answers).
    Manual payouts and marketplace refunds are not polled: a clerk or the platform confirms them."""
    refund = Refund.objects.select_related("ticket", "ticket__shop", "ticket__order").get(pk=refund_id)
    ticket = refund.ticket
    if refund.status != RefundStatus.SUBMITTED or refund.payer == MANUAL or ticket.platform:
        return refund
    try:
        gateway = gateway_for(provider=ticket.order.payment_provider, shop_code=ticket.shop.code)
        answer = gateway.query(refund_request(refund))
    except (GatewayError, ImproperlyConfigured) as exc:
        logger.warning(
            "refund %s: the gateway %s did not answer a query: %s", refund.idempotency_key, refund.payer, exc
        )
        return refund
    return refund_settle(idempotency_key=refund.idempotency_key, answer=answer, actor=PAYMENT_ACTOR)


def refund_settle(*, idempotency_key: str, answer: PayoutAnswer, actor: Actor, channel: str = "") -> Refund:
    """Apply a payer's answer to the refund ``idempotency_key``: a verified notification, a query's result, the
    gateway's answer to the submission, or a finance clerk's record of a manual payout (``channel`` says how).

    Locks the ticket, then the refund. Idempotent: an answer that changes nothing (a duplicated notification,
    "still processing" again, a success already recorded) writes nothing. SUCCEEDED records the payer, the
    confirmation (when, by whom) and completes the ticket once none of its refunds is still unpaid; FAILED
    records the payer's message and escalates the ticket. A refund succeeded stays succeeded; a confirmed
    payment wins over an earlier failure (that failure may have been only a timeout). Raises ``NotFound`` for an
    unknown key and ``ValidationFailed`` for a success that names no payer.
    """
    if answer.status == PayoutStatus.SUCCEEDED and not answer.payer:
        raise ValidationFailed(_("A confirmed refund must say who paid it."), field="payer")
    ticket_id = Refund.objects.filter(idempotency_key=idempotency_key).values_list("ticket_id", flat=True).first()
    if ticket_id is None:
        raise NotFound(_("No refund %(refund)s.") % {"refund": idempotency_key}, code="refund_not_found")
    with transaction.atomic():
        ticket = ticket_lock(ticket=Ticket.objects.get(pk=ticket_id), check_version=False)
        refund = Refund.objects.select_for_update().get(idempotency_key=idempotency_key)
        if not _settle_changes(refund, answer):
            return refund
        now = timezone.now()
        refund.status = RefundStatus(answer.status.value)
        refund.payer = answer.payer or refund.payer
        refund.reference = (answer.reference or refund.reference)[:128]
        refund.message = answer.message[:2000]
        refund.submitted_at = refund.submitted_at or now
        if answer.status == PayoutStatus.SUCCEEDED:
            refund.paid_at = answer.paid_at or now
            refund.confirmed_at = now
            refund.confirmed_by = actor.user if actor.user is not None and actor.user.pk else None
            refund.payout_channel = channel
        if answer.status != PayoutStatus.SUBMITTED:
            refund.completed_at = now
        refund.save()
        event_record(
            ticket=ticket,
            actor=actor,
            event_type=EventType.REFUND,
            public=answer.status != PayoutStatus.FAILED,
            payload={
                "refund": refund.idempotency_key,
                "amount": refund.amount,
                "status": refund.status,
                "payer": refund.payer,
                "reference": refund.reference,
                **({"channel": channel} if channel else {}),
            },
        )
        if answer.status == PayoutStatus.FAILED:
            _escalate(ticket=ticket, refund=refund, error=answer.message or refund.status, actor=actor)
        elif answer.status == PayoutStatus.SUCCEEDED:
            _complete_when_paid(ticket=ticket, refund=refund, actor=actor)
    return refund


def _settle_changes(refund: Refund, answer: PayoutAnswer) -> bool:
    """Whether ``answer`` moves ``refund`` on (everything else is a repeat, or news older than what we know)."""
    if refund.status == RefundStatus.SUCCEEDED:
        return False
    if answer.status == PayoutStatus.SUBMITTED:
        return refund.status == RefundStatus.REQUESTED
    if answer.status == PayoutStatus.FAILED:
        return refund.status in (RefundStatus.REQUESTED, RefundStatus.SUBMITTED)
    return True


def _complete_when_paid(*, ticket: Ticket, refund: Refund, actor: Actor) -> None:
    if (
        isinstance(ticket, ReturnTicket)
        and ticket.state == ReturnState.REFUND_PENDING
        and not ticket.refunds.exclude(status=RefundStatus.SUCCEEDED).exists()
    ):
        # The ticket completes as the payment path (complete_refund is the system's or the platform's only).
        completer = actor if actor.kind in (ActorKind.SYSTEM, ActorKind.PLATFORM) else PAYMENT_ACTOR
        ticket_act(
            ticket=ticket,
            actor=completer,
            action="complete_refund",
            refund=refund.idempotency_key,
            reference=refund.reference or refund.idempotency_key,
            check_version=False,
        )


def _record_failure(*, refund_id: int, error: str) -> None:
    """The gateway did not answer: count the attempt; after MAX_REFUND_ATTEMPTS the refund fails (escalated)."""
    with transaction.atomic():
        refund = Refund.objects.select_related("ticket").get(pk=refund_id)
        ticket = ticket_lock(ticket=refund.ticket, check_version=False)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if refund.status != RefundStatus.REQUESTED:
            return
        refund.attempts += 1
        refund.last_error = error[:2000]
        if refund.attempts >= MAX_REFUND_ATTEMPTS:
            refund.status = RefundStatus.FAILED
        refund.save(update_fields=["attempts", "last_error", "status"])
        if refund.status == RefundStatus.FAILED:
            _escalate(ticket=ticket, refund=refund, error=error, actor=PAYMENT_ACTOR)
            logger.error("refund %s failed %s times, escalated: %s", refund.idempotency_key, refund.attempts, error)


def _escalate(*, ticket: Ticket, refund: Refund, error: str, actor: Actor) -> None:
    """Priority urgent and an escalation on the timeline (staff only); the caller holds the ticket's lock."""
    Ticket.objects.filter(pk=ticket.pk).update(priority=Priority.URGENT, version=F("version") + 1)
    reason, payload = system_reason(
        "refund_failed", refund=refund.idempotency_key, attempts=refund.attempts, error=error[:500]
    )
    event_record(
        ticket=ticket,
        actor=actor,
        event_type=EventType.ESCALATION,
        reason=reason,
        public=False,
        payload={**payload, "refund": refund.idempotency_key, "attempts": refund.attempts},
    )


def refund_retry(*, refund: Refund, actor: Actor) -> Refund:
    """Operations put a failed refund back in line (after fixing the cause with the payment provider)."""

    with transaction.atomic():
        locked = Refund.objects.select_for_update().select_related("ticket").get(pk=refund.pk)
        if locked.status != RefundStatus.FAILED:
            raise Conflict(
                _("Refund %(refund)s is %(status)s; only a failed refund can be retried.")
                % {"refund": locked.idempotency_key, "status": locked.status},
                code="refund_not_failed",
            )
        locked.status = RefundStatus.REQUESTED
        locked.attempts = 0
        locked.completed_at = None
        locked.save(update_fields=["status", "attempts", "completed_at"])
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
