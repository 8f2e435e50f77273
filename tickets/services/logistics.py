"""Use cases of a logistics exception (物流异常). Each runs one transition through the engine.

``logistics_refund`` opens a linked refund-only return for the ticket's lines, approved by the system;
when that refund is paid, the return's entry hook resolves this ticket (tickets.services.refunds).
"""

from __future__ import annotations

from decimal import Decimal

from tickets.actors import Actor
from tickets.models import LogisticsTicket
from tickets.services.engine import ticket_transition
from tickets.services.shipping import OUTBOUND, ticket_ship
from tickets.types import LineRequest


def logistics_investigate(*, ticket: LogisticsTicket, actor: Actor, carrier_claim_number: str = "") -> LogisticsTicket:
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="investigate",
        params={"carrier_claim_number": carrier_claim_number},
        payload={"carrier_claim_number": carrier_claim_number},
    )


def logistics_reship(*, ticket: LogisticsTicket, actor: Actor, reason: str = "") -> LogisticsTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="reship", reason=reason)


def logistics_mark_reshipped(
    *, ticket: LogisticsTicket, actor: Actor, carrier: str, tracking_number: str
) -> LogisticsTicket:
    return ticket_ship(
        ticket=ticket,
        actor=actor,
        transition="mark_reshipped",
        direction=OUTBOUND,
        carrier=carrier,
        tracking_number=tracking_number,
    )


def logistics_compensate(
    *, ticket: LogisticsTicket, actor: Actor, amount: Decimal, reason: str = ""
) -> LogisticsTicket:
    return ticket_transition(
        ticket=ticket,
        actor=actor,
        transition="compensate",
        reason=reason,
        params={"amount": amount},
        payload={"amount": amount},
    )


def logistics_refund(*, ticket: LogisticsTicket, actor: Actor, reason: str = "") -> LogisticsTicket:
    """Refund the buyer for the parcel through a linked, system-approved refund-only return."""
    from tickets.services.opening import return_open
    from tickets.services.returns import return_approve

    def open_refund(logistics: LogisticsTicket) -> None:
        lines = [
            LineRequest(sku=tl.order_line.sku, quantity=tl.quantity)
            for tl in logistics.lines.select_related("order_line")
        ]
        refund = return_open(
            order=logistics.order,
            actor=actor,
            lines=lines,
            reason_code="not_received",
            refund_only=True,
            description=f"{logistics.number}: {reason}".strip(": "),
            origin=logistics,
        )
        return_approve(ticket=refund, actor=Actor.system("logistics refund"), reason=reason)

    return ticket_transition(ticket=ticket, actor=actor, transition="refund", reason=reason, after=open_refund)


def logistics_mark_found(*, ticket: LogisticsTicket, actor: Actor, reason: str = "") -> LogisticsTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="mark_found", reason=reason)


def logistics_resolve(*, ticket: LogisticsTicket, actor: Actor, reason: str = "") -> LogisticsTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="resolve", reason=reason)


def logistics_confirm(*, ticket: LogisticsTicket, actor: Actor) -> LogisticsTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="confirm")


def logistics_cancel(*, ticket: LogisticsTicket, actor: Actor, reason: str = "") -> LogisticsTicket:
    return ticket_transition(ticket=ticket, actor=actor, transition="cancel", reason=reason)
