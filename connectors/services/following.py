"""Which transition brings a ticket one step toward the platform's status, and when the two are in step.

``case_ingest`` asks :func:`next_step` again after each transition it ran (as the platform actor), until the
ticket is :func:`in_step` with the snapshot or no declared transition leads on (drift: the staff decide). The
transitions are the kinds' own declarations, permitted to ``Role.PLATFORM``; nothing here changes a ticket.

- returns: the request, the merchant's counter-offer (协商) and the buyer's answer, the goods coming back, the
  platform's intervention (平台介入: it takes the case over, asks for evidence again, and rules), the refund;
- exchanges (换货): approval, the goods back, the replacement the merchant shipped, the buyer's receipt;
- 补寄 (a logistics ticket, missing item): the resend the merchant shipped, the buyer's receipt.
"""

from __future__ import annotations

from typing import Any

from connectors.base import CaseSnapshot, CaseStatus, fen_to_yuan
from tickets.models import Ticket

Step = tuple[str, dict[str, Any]]

# The ticket states each neutral status corresponds to; used to tell "in step" from drift.
IN_STEP: dict[CaseStatus, set[str]] = {
    # 补寄: the merchant is to ship the missing item, whichever step of kefu's reship path the staff are at.
    CaseStatus.REQUESTED: {"requested", "reported", "investigating", "reshipping"},
    CaseStatus.AWAITING_RETURN: {"awaiting_return"},
    CaseStatus.RETURN_IN_TRANSIT: {"return_in_transit", "received"},
    CaseStatus.RECEIVED: {"received", "refund_pending", "replacement_pending"},
    CaseStatus.REPLACEMENT_SHIPPED: {"replacement_shipped", "reshipped"},
    CaseStatus.COMPLETED: {"completed", "closed"},
    CaseStatus.REFUNDED: {"refunded"},
    CaseStatus.REJECTED: {"rejected"},
    CaseStatus.CLOSED: {"closed", "cancelled", "refunded", "completed", "resolved"},
    CaseStatus.ARBITRATION: {"arbitration", "evidence_submitted"},
    CaseStatus.COUNTER_OFFER: {"counter_offered"},
}
# Returns the platform has paid or agreed to pay: from the buyer's side the case is settled.
AGREED = (CaseStatus.AWAITING_RETURN, CaseStatus.RETURN_IN_TRANSIT, CaseStatus.REFUNDED)


def in_step(ticket: Ticket, snapshot: CaseSnapshot) -> bool:
    if ticket.state == "evidence_submitted" and snapshot.merchant_deadline is not None:
        return False  # the platform set an evidence deadline again: it asks for more
    if ticket.state in IN_STEP.get(snapshot.status, set()):
        return True
    # A platform that shows no pending counter-offer keeps the request waiting on the merchant meanwhile.
    return ticket.state == "counter_offered" and snapshot.status == CaseStatus.REQUESTED and not snapshot.shows_offers


def next_step(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    """The next platform transition toward ``snapshot.status`` from the ticket's state (None: none)."""
    if ticket.kind == "return":
        return _return_step(ticket, snapshot)
    if ticket.kind == "exchange":
        return _exchange_step(ticket, snapshot)
    if ticket.kind == "logistics":
        return _resend_step(ticket, snapshot)
    return None


def _why(snapshot: CaseSnapshot) -> dict[str, Any]:
    return {"reason": f"{snapshot.platform}: {snapshot.raw_status}"}


def _return_step(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    state, status = ticket.state, snapshot.status
    why = _why(snapshot)
    if status == CaseStatus.ARBITRATION and state in ("requested", "awaiting_return", "return_in_transit", "received"):
        return ("intervene", why)
    if state == "requested":
        if status in AGREED:
            return ("approve", why)
        if status == CaseStatus.REJECTED:
            return ("reject", {"reason": snapshot.raw.get("refuse_reason") or why["reason"]})
        if status == CaseStatus.CLOSED:
            return ("cancel", why)
        if status == CaseStatus.COUNTER_OFFER:
            return ("counter_offer", _offer(snapshot))
    if state == "counter_offered":
        return _offer_answer(ticket, snapshot)
    if state == "rejected":
        if status == CaseStatus.ARBITRATION:
            return ("escalate", why)
        if status == CaseStatus.CLOSED:
            return ("accept_rejection", {})
    if state == "awaiting_return":
        if status in (CaseStatus.RETURN_IN_TRANSIT, CaseStatus.RECEIVED) and snapshot.return_waybill:
            carrier = snapshot.return_carrier or "unknown"
            return ("ship_back", {"carrier": carrier[:64], "tracking_number": snapshot.return_waybill[:64]})
        if status == CaseStatus.CLOSED:
            return ("cancel", why)
    if state == "return_in_transit" and status == CaseStatus.REFUNDED:
        return ("auto_refund", why)
    if state in ("arbitration", "evidence_submitted"):
        return _ruling(ticket, snapshot)
    if state == "refund_pending" and status == CaseStatus.REFUNDED:
        return ("settle", {})
    return None


def _offer(snapshot: CaseSnapshot) -> dict[str, Any]:
    """A counter-offer the merchant made in the platform's back office, as the platform shows it."""
    amount = fen_to_yuan(snapshot.offer_fen) if snapshot.offer_fen else None
    return {"offer": f"{snapshot.platform}: {snapshot.raw_status}", "offer_amount": amount}


def _offer_answer(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    """The buyer's answer to a counter-offer: agreeing on the offered amount is an acceptance; the platform
    agreeing on anything else (its timeout on the original request) means the offer lapsed."""
    status = snapshot.status
    offered = getattr(ticket, "offered_amount", None)
    if status in AGREED or status == CaseStatus.RECEIVED:
        accepted = offered is not None and snapshot.refund_fen == round(offered * 100)
        return ("accept_offer", {}) if accepted else ("decline_offer", _why(snapshot))
    if status == CaseStatus.REQUESTED and snapshot.shows_offers:
        return ("decline_offer", _why(snapshot))
    if status == CaseStatus.CLOSED:
        return ("cancel", _why(snapshot))
    if status == CaseStatus.ARBITRATION:
        return ("intervene", _why(snapshot))
    return None


def _ruling(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    """The platform's intervention: more evidence asked for, or its ruling (buyer or merchant wins)."""
    status = snapshot.status
    if status == CaseStatus.ARBITRATION:
        asked_again = ticket.state == "evidence_submitted" and snapshot.merchant_deadline is not None
        return ("request_evidence", _why(snapshot)) if asked_again else None
    if status == CaseStatus.REFUNDED:
        # The refund the platform decided on; more than the request cannot be reserved (then: the request).
        requested = getattr(ticket, "requested_amount", None)
        amount = fen_to_yuan(snapshot.refund_fen) if snapshot.refund_fen else None
        if amount is not None and requested is not None and amount > requested:
            amount = None
        return ("uphold_buyer", {**_why(snapshot), "amount": amount})
    if status in (CaseStatus.AWAITING_RETURN, CaseStatus.RETURN_IN_TRANSIT):
        return ("uphold_buyer", _why(snapshot))
    if status == CaseStatus.CLOSED:
        return ("uphold_rejection", _why(snapshot))
    return None


def _exchange_step(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    state, status = ticket.state, snapshot.status
    why = _why(snapshot)
    if status == CaseStatus.CLOSED and state in ("requested", "awaiting_return"):
        return ("cancel", why)
    if state == "requested":
        if status in (CaseStatus.AWAITING_RETURN, CaseStatus.RETURN_IN_TRANSIT, CaseStatus.RECEIVED):
            return ("approve", why)
        if status == CaseStatus.REJECTED:
            return ("reject", why)
    if state == "rejected":
        if status == CaseStatus.ARBITRATION:
            return ("escalate", why)
        if status == CaseStatus.CLOSED:
            return ("accept_rejection", {})
    if state == "awaiting_return" and status in (CaseStatus.RETURN_IN_TRANSIT, CaseStatus.RECEIVED):
        if snapshot.return_waybill:
            carrier = snapshot.return_carrier or "unknown"
            return ("ship_back", {"carrier": carrier[:64], "tracking_number": snapshot.return_waybill[:64]})
    if state == "return_in_transit" and status in (CaseStatus.RECEIVED, CaseStatus.REPLACEMENT_SHIPPED):
        return ("receive", {})  # the platform saw the goods arrive (the merchant confirmed it there)
    if state == "replacement_pending" and status in (CaseStatus.REPLACEMENT_SHIPPED, CaseStatus.COMPLETED):
        return _reship("ship_replacement", snapshot)
    if state == "replacement_shipped" and status == CaseStatus.COMPLETED:
        return ("confirm_receipt", {})
    if state == "arbitration":
        if status in (CaseStatus.AWAITING_RETURN, CaseStatus.RECEIVED):
            return ("uphold_buyer", why)
        if status == CaseStatus.CLOSED:
            return ("uphold_rejection", why)
    return None


def _resend_step(ticket: Ticket, snapshot: CaseSnapshot) -> Step | None:
    """补寄 on a logistics ticket: kefu's reship path is the staff's; the platform reports the parcel and the
    buyer's receipt. A resend shipped in the back office before kefu's staff reached ``reshipping`` is drift."""
    state, status = ticket.state, snapshot.status
    if state == "reported" and status == CaseStatus.CLOSED:
        return ("cancel", _why(snapshot))
    if state == "reshipping" and status in (CaseStatus.REPLACEMENT_SHIPPED, CaseStatus.COMPLETED):
        return _reship("mark_reshipped", snapshot)
    if state == "reshipped" and status == CaseStatus.COMPLETED:
        return ("resolve", _why(snapshot))
    if state == "resolved" and status == CaseStatus.COMPLETED:
        return ("confirm", {})
    return None


def _reship(action: str, snapshot: CaseSnapshot) -> Step | None:
    if not snapshot.reship_waybill:
        return None  # the platform names no parcel: the warehouse enters it in kefu
    carrier = snapshot.reship_carrier or "unknown"
    return (action, {"carrier": carrier[:64], "tracking_number": snapshot.reship_waybill[:64]})
