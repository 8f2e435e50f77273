"""Return postage and 运费险: who pays for sending a return back, and what the shop refunds of it.

The rule follows the ticket's reason:

- the shop's fault (quality problem, missing or wrong item, damaged, not as described): the shop refunds what the
  buyer paid, on proof (a receipt attached to the ticket), up to the shop's cap (``Shop.return_postage_cap``, else
  ``KEFU_RETURN_POSTAGE_CAP``); the refund then carries it (``Refund.postage_amount``);
- anything else (七天无理由, wrong size, …): the buyer pays, unless the order has shipping insurance (运费险), in
  which case the insurer pays it; the shop refunds nothing.

``return_postage_record`` stores the buyer's postage and the decision on the return and says so on the timeline;
``postage_refund_due`` is what the refund reserved on entering ``refund_pending`` adds.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict
from kefu.core.vocabulary import ReturnState
from orders.models import ZERO
from tickets.actors import Actor, ActorKind
from tickets.errors import FieldRequired, InvalidAmount, NotPermitted
from tickets.locks import ticket_lock
from tickets.models import Attachment, EventType, ReturnTicket, Ticket
from tickets.models.finance import PostagePayer
from tickets.services.engine import event_record
from tickets.wording import system_reason

# Reasons that are the shop's fault: it refunds the return postage (on proof, up to its cap).
SHOP_FAULT_REASONS = frozenset({"quality_problem", "missing_or_wrong_item", "damaged", "not_as_described"})
# Postage can be recorded while the goods are on their way back or being checked, before the refund is fixed.
RECORDABLE_STATES = frozenset({ReturnState.AWAITING_RETURN, ReturnState.RETURN_IN_TRANSIT, ReturnState.RECEIVED})
MAX_POSTAGE = Decimal("500.00")


def postage_payer(*, reason_code: str | None, shipping_insurance: bool) -> PostagePayer:
    if reason_code in SHOP_FAULT_REASONS:
        return PostagePayer.SHOP
    return PostagePayer.INSURER if shipping_insurance else PostagePayer.BUYER


def postage_cap(ticket: ReturnTicket) -> Decimal:
    cap = ticket.shop.return_postage_cap
    return cap if cap is not None else Decimal(str(settings.KEFU_RETURN_POSTAGE_CAP)).quantize(Decimal("0.01"))


def return_postage_record(*, ticket: Ticket, amount: Decimal, proof: Attachment | None, actor: Actor) -> ReturnTicket:
    """Record what the buyer paid to send the goods back (``proof``: a receipt attached to this ticket) and who
    pays it. Locks the ticket; recording again replaces the earlier figures (one entry on the timeline each).

    Raises ``InvalidAmount`` for an amount not above ¥0 (or implausibly high), ``FieldRequired`` when the shop
    would pay and there is no proof, ``Conflict`` when the return brings no goods back or its refund is fixed.
    """
    if actor.kind == ActorKind.BUYER and (actor.buyer is None or actor.buyer.pk != ticket.buyer_id):
        raise NotPermitted(_("Ticket %(number)s belongs to another buyer.") % {"number": ticket.number})
    if amount is None or amount <= 0 or amount > MAX_POSTAGE:
        raise InvalidAmount(
            _("Return postage must be above ¥0.00 and at most ¥%(max)s.") % {"max": MAX_POSTAGE}, field="amount"
        )
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=False)
        if not isinstance(locked, ReturnTicket) or locked.refund_only:
            raise Conflict(
                _("Ticket %(number)s brings no goods back: there is no return postage.") % {"number": locked.number},
                code="no_return_postage",
            )
        if locked.state not in RECORDABLE_STATES:
            raise Conflict(
                _("Ticket %(number)s is %(state)s: return postage is recorded before the refund is fixed.")
                % {"number": locked.number, "state": locked.state_label()},
                code="postage_too_late",
            )
        if proof is not None and proof.ticket_id != locked.pk:
            raise FieldRequired(_("The proof must be evidence attached to this ticket."), field="proof")
        payer = postage_payer(reason_code=locked.reason_code, shipping_insurance=locked.order.shipping_insurance)
        refund = ZERO
        if payer == PostagePayer.SHOP:
            if proof is None:
                raise FieldRequired(
                    _("The shop refunds return postage on proof: attach the receipt and name it."), field="proof"
                )
            refund = min(amount, postage_cap(locked))
        locked.return_postage = amount
        locked.return_postage_proof = proof
        locked.return_postage_payer = payer
        locked.return_postage_refund = refund
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(
            update_fields=[
                "return_postage",
                "return_postage_proof",
                "return_postage_payer",
                "return_postage_refund",
                "version",
                "updated_at",
            ]
        )
        reason, payload = system_reason(f"postage_{payer}", amount=str(amount), refund=str(refund))
        event_record(
            ticket=locked,
            actor=actor,
            event_type=EventType.REFUND,
            reason=reason,
            payload={**payload, "postage": amount, "postage_payer": payer, "postage_refund": refund},
        )
        return locked


def postage_refund_due(ticket: ReturnTicket) -> Decimal:
    """What the shop refunds of the return postage along with the goods (0 unless recorded and the shop's)."""
    if ticket.return_postage_payer != PostagePayer.SHOP:
        return ZERO
    return ticket.return_postage_refund or ZERO
