"""Use cases of a return (退货退款 / 仅退款). Each runs one transition through the engine.

Entering ``refund_pending`` (approve of a refund-only request, auto_refund, inspection passed, arbitration
for the buyer) reserves the refund in the same transaction (tickets.services.refunds).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from tickets.actors import Actor
from tickets.models import ReturnTicket
from tickets.services.engine import ticket_transition
from tickets.services.shipping import RETURN, ticket_ship


def return_approve(*, ticket: ReturnTicket, actor: Actor, reason: str = "") -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="approve", reason=reason)


def return_reject(*, ticket: ReturnTicket, actor: Actor, reason: str) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="reject", reason=reason)


def return_modify(
    *,
    ticket: ReturnTicket,
    actor: Actor,
    requested_amount: Decimal | None = None,
    description: str | None = None,
) -> ReturnTicket:
    """The buyer changes a rejected request and sends it back for review."""
    from tickets.errors import RefundExceedsPaid
    from tickets.selectors import ticket_lines, ticket_refundable_amount

    if requested_amount is not None:
        cap = ticket_refundable_amount(lines=ticket_lines(ticket=ticket))
        if requested_amount > cap:
            raise RefundExceedsPaid(
                _("At most ¥%(cap)s can still be refunded for these lines; ¥%(asked)s asked.")
                % {"cap": cap, "asked": requested_amount},
                field="requested_amount",
            )
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="modify",
        params={"requested_amount": requested_amount, "description": description},
    )


def return_escalate(*, ticket: ReturnTicket, actor: Actor, reason: str = "") -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="escalate", reason=reason)


def return_accept_rejection(*, ticket: ReturnTicket, actor: Actor) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="accept_rejection")


def return_ship_back(*, ticket: ReturnTicket, actor: Actor, carrier: str, tracking_number: str) -> ReturnTicket:
    return ticket_ship(
        ticket=ticket,
        actor=actor,
        transition="ship_back",
        direction=RETURN,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def return_receive(*, ticket: ReturnTicket, actor: Actor) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="receive")


def return_pass_inspection(*, ticket: ReturnTicket, actor: Actor) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="pass_inspection")


def return_pass_inspection_partly(*, ticket: ReturnTicket, actor: Actor, amount: Decimal, reason: str) -> ReturnTicket:
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="pass_inspection_partly",
        reason=reason,
        params={"amount": amount},
        payload={"amount": amount},
    )


def return_fail_inspection(*, ticket: ReturnTicket, actor: Actor, reason: str) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="fail_inspection", reason=reason)


def return_uphold_buyer(*, ticket: ReturnTicket, actor: Actor, reason: str = "") -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="uphold_buyer", reason=reason)


def return_uphold_rejection(*, ticket: ReturnTicket, actor: Actor, reason: str) -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="uphold_rejection", reason=reason)


def return_cancel(*, ticket: ReturnTicket, actor: Actor, reason: str = "") -> ReturnTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="cancel", reason=reason)
