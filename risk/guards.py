"""The risk app's guard on automation (tickets.automation): a flagged buyer's ticket is for people to decide."""

from __future__ import annotations

from risk.selectors import open_flags
from risk.wording import risk_reason
from tickets.automation import Refusal
from tickets.models import Ticket

# What the system may not do alone for a flagged buyer: approve a request, refund an unconfirmed return.
GATED_ACTIONS = frozenset({"approve", "auto_refund"})


def flagged_buyer_refusal(ticket: Ticket, action: str) -> Refusal | None:
    """A refusal naming the buyer's open flags when ``action`` would move money for a flagged buyer. One query."""
    if action not in GATED_ACTIONS:
        return None
    flags = list(
        open_flags()
        .filter(profile__identities__buyer_id=ticket.buyer_id)
        .order_by("raised_at", "pk")
        .values("code", "params")
    )
    if not flags:
        return None
    unique = list({flag["code"]: flag for flag in flags}.values())
    reason, payload = risk_reason("risk_automation_refused", kind=ticket.kind, action=action, flags=unique)
    return Refusal(reason=reason, payload=payload)
