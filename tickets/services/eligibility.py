"""The eligibility guards of an opening: the order's lines (locked), the quantities still returnable, the
return window, the reason and who may open.

Opening locks the order's lines (``SELECT … FOR UPDATE`` ordered by pk) for the transaction, so two requests for
the same items at the same moment cannot both take the last returnable unit.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Order, OrderLine
from tickets.actors import Actor, ActorKind
from tickets.errors import InvalidLines, InvalidReason, NotPermitted, OutsideReturnWindow, QuantityNotReturnable
from tickets.locks import order_lines_locked
from tickets.models import ReasonCode
from tickets.models.reasons import reason_codes
from tickets.selectors import returnable_quantities
from tickets.types import LineRequest


def lines_resolve(
    order: Order, requested: Sequence[LineRequest], *, check_returnable: bool
) -> list[tuple[OrderLine, int]]:
    """The requested order lines with their quantities, the lines locked; refuses an unknown or repeated SKU, a
    quantity below 1 or above the line's, and (``check_returnable``) above what is still returnable."""
    if not requested:
        raise InvalidLines(_("Name at least one order line and its quantity."), field="lines")
    by_sku = order_lines_locked(order)
    remaining = returnable_quantities(order, by_sku.values()) if check_returnable else {}
    resolved: list[tuple[OrderLine, int]] = []
    seen: set[str] = set()
    for i, item in enumerate(requested):
        line = by_sku.get(item.sku)
        if line is None:
            raise InvalidLines(
                _("Order %(order)s has no line with SKU '%(sku)s'.") % {"order": order.number, "sku": item.sku},
                field=f"lines[{i}].sku",
            )
        if item.sku in seen:
            raise InvalidLines(_("SKU '%(sku)s' is listed twice.") % {"sku": item.sku}, field=f"lines[{i}].sku")
        seen.add(item.sku)
        if item.quantity < 1:
            raise InvalidLines(_("The quantity must be at least 1."), field=f"lines[{i}].quantity")
        if item.quantity > line.quantity:
            raise QuantityNotReturnable(
                _("Order line %(sku)s has %(quantity)s item(s); %(asked)s asked.")
                % {"sku": item.sku, "quantity": line.quantity, "asked": item.quantity},
                field=f"lines[{i}].quantity",
            )
        if check_returnable and item.quantity > remaining[line.pk]:
            raise QuantityNotReturnable(
                _("Only %(remaining)s item(s) of %(sku)s can still be returned or exchanged; %(asked)s asked.")
                % {"remaining": remaining[line.pk], "sku": item.sku, "asked": item.quantity},
                field=f"lines[{i}].quantity",
            )
        if check_returnable:
            # What the tickets before this one hold of the line: the new ticket's units come after theirs
            # (tickets.selectors.ticket_line_offsets reads it from here instead of asking again).
            line.held_quantity = line.quantity - remaining[line.pk]  # type: ignore[attr-defined]
        resolved.append((line, item.quantity))
    return resolved


def return_window_check(order: Order, *, needs_delivery: bool) -> None:
    """Returns and exchanges only inside the shop's return window after delivery.

    Refund-only requests before delivery (not shipped, not received) are always allowed.
    """
    ends = order.return_window_ends_at()
    if ends is None:
        if needs_delivery:
            raise OutsideReturnWindow(
                _("Order %(order)s has not been delivered yet; goods can only be sent back after delivery.")
                % {"order": order.number},
                field="order",
            )
        return
    if timezone.now() > ends:
        raise OutsideReturnWindow(
            _("The %(days)s-day return window of order %(order)s ended on %(date)s.")
            % {
                "days": order.shop.return_window_days,
                "order": order.number,
                "date": f"{timezone.localtime(ends):%Y-%m-%d}",
            },
            field="order",
        )


def reason_resolve(kind: str, reason_code: str | None, *, required: bool) -> ReasonCode | None:
    if not reason_code:
        if required:
            raise InvalidReason(_("Choose a reason."), field="reason")
        return None
    reason = reason_codes.get().by_code.get(reason_code)
    if reason is None or not reason.allows(kind):
        # Translators: %(kind)s is the kind's code: return, exchange, complaint or logistics.
        raise InvalidReason(
            _("'%(reason)s' is not a reason for a %(kind)s ticket.") % {"reason": reason_code, "kind": kind},
            field="reason",
        )
    return reason


def opener_check(order: Order, actor: Actor) -> None:
    if actor.kind == ActorKind.BUYER and (actor.buyer is None or actor.buyer.pk != order.buyer_id):
        raise NotPermitted(_("Order %(order)s belongs to another buyer.") % {"order": order.number}, field="order")
