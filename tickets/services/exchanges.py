"""Use cases of an exchange (换货). Each runs one transition through the engine.

``exchange_convert_to_refund`` closes an exchange whose replacement is out of stock and, in the same
transaction, opens a linked refund-only return for the same lines, approved by the system, so the refund
is reserved at once and both timelines tell the story.
"""

from __future__ import annotations

from tickets.actors import Actor
from tickets.models import ExchangeTicket
from tickets.services.engine import ticket_transition
from tickets.services.shipping import REPLACEMENT, RETURN, ticket_ship
from tickets.types import LineRequest


def exchange_approve(*, ticket: ExchangeTicket, actor: Actor, reason: str = "") -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="approve", reason=reason)


def exchange_reject(*, ticket: ExchangeTicket, actor: Actor, reason: str) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="reject", reason=reason)


def exchange_modify(
    *, ticket: ExchangeTicket, actor: Actor, replacement_sku: str | None = None, description: str | None = None
) -> ExchangeTicket:
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="modify",
        params={"replacement_sku": replacement_sku, "description": description},
    )


def exchange_escalate(*, ticket: ExchangeTicket, actor: Actor, reason: str = "") -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="escalate", reason=reason)


def exchange_accept_rejection(*, ticket: ExchangeTicket, actor: Actor) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="accept_rejection")


def exchange_ship_back(*, ticket: ExchangeTicket, actor: Actor, carrier: str, tracking_number: str) -> ExchangeTicket:
    return ticket_ship(
        ticket=ticket,
        actor=actor,
        transition="ship_back",
        direction=RETURN,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def exchange_receive(*, ticket: ExchangeTicket, actor: Actor) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="receive")


def exchange_pass_inspection(*, ticket: ExchangeTicket, actor: Actor) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="pass_inspection")


def exchange_fail_inspection(*, ticket: ExchangeTicket, actor: Actor, reason: str) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="fail_inspection", reason=reason)


def exchange_ship_replacement(
    *, ticket: ExchangeTicket, actor: Actor, carrier: str, tracking_number: str
) -> ExchangeTicket:
    return ticket_ship(
        ticket=ticket,
        actor=actor,
        transition="ship_replacement",
        direction=REPLACEMENT,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def exchange_convert_to_refund(*, ticket: ExchangeTicket, actor: Actor, reason: str) -> ExchangeTicket:
    """Out of stock: close the exchange and refund the same lines through a linked return."""
    from tickets.services.opening import return_open
    from tickets.services.returns import return_approve

    def open_refund(exchange: ExchangeTicket) -> None:
        lines = [
            LineRequest(sku=tl.order_line.sku, quantity=tl.quantity)
            for tl in exchange.lines.select_related("order_line")
        ]
        refund = return_open(
            order=exchange.order,
            actor=actor,
            lines=lines,
            reason_code="out_of_stock",
            refund_only=True,
            description=f"{exchange.number}: {reason}",
            origin=exchange,
        )
        return_approve(ticket=refund, actor=Actor.system("exchange out of stock"), reason=reason)

    return ticket_transition(
        ticket=ticket, actor=actor, transition="convert_to_refund", reason=reason, after=open_refund
    )


def exchange_confirm_receipt(*, ticket: ExchangeTicket, actor: Actor) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="confirm_receipt")


def exchange_uphold_buyer(*, ticket: ExchangeTicket, actor: Actor, reason: str = "") -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="uphold_buyer", reason=reason)


def exchange_uphold_rejection(*, ticket: ExchangeTicket, actor: Actor, reason: str) -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="uphold_rejection", reason=reason)


def exchange_cancel(*, ticket: ExchangeTicket, actor: Actor, reason: str = "") -> ExchangeTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="cancel", reason=reason)
