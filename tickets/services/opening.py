"""Opening tickets of each kind, with the eligibility guards of returns and exchanges.

Opening locks the order's lines (``SELECT … FOR UPDATE`` ordered by pk) for the transaction, so two
requests for the same items at the same moment cannot both take the last returnable unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.prepared import PreparedQuery
from orders.models import Order, OrderLine, Shipment
from tickets.actors import Actor, ActorKind
from tickets.config import reason_codes
from tickets.errors import (
    InvalidAmount,
    InvalidLines,
    InvalidReason,
    NotPermitted,
    OutsideReturnWindow,
    QuantityNotReturnable,
    RefundExceedsPaid,
    StalledParcelReported,
    require,
)
from tickets.models import (
    ComplaintTicket,
    EventType,
    ExchangeTicket,
    Kind,
    LogisticsTicket,
    Priority,
    ReasonCode,
    ReturnTicket,
    Severity,
    Ticket,
    TicketLine,
)
from tickets.selectors import returnable_quantities, rows_known, ticket_refundable_amount
from tickets.services.engine import assignment_record, event_record, step_apply
from tickets.types import LineRequest

T = TypeVar("T", bound=Ticket)


def ticket_number(ticket: Ticket) -> str:
    """``RT20261122000123``: kind prefix, local creation date, then the id (unique without a counter)."""
    day = timezone.localtime(ticket.created_at)
    return f"{ticket.NUMBER_PREFIX}{day:%Y%m%d}{ticket.pk:06d}"


def _reserve_ticket_id() -> int | None:
    """On PostgreSQL, the next ticket id from the table's own sequence (None elsewhere).

    The ticket number contains the id; taking the id first writes the row once with its number, where
    inserting then updating would write every index of the ticket table twice.
    """
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Ticket._meta.db_table])
        return cursor.fetchone()[0]


# Every opening locks its order's lines: composed once (kefu.prepared), not on each opening.
_locked_lines = PreparedQuery(
    lambda order_id: OrderLine.objects.select_for_update().filter(order_id=order_id).order_by("pk"),
    order_id=-7_301_001,
)


def _lock_lines(order: Order) -> dict[str, OrderLine]:
    """The order's lines by SKU, locked (ordered by pk) for the transaction.

    What other tickets hold of them must be read after this statement, not in it: under READ COMMITTED a
    statement that waited for the lock still reads everything else as it was when it began, so the tickets
    the lock holder just committed would be missed (six requests for the last item made six tickets).
    """
    return {line.sku: line for line in _locked_lines.objects(order_id=order.pk)}


def _resolve_lines(
    order: Order, requested: Sequence[LineRequest], *, check_returnable: bool
) -> list[tuple[OrderLine, int]]:
    if not requested:
        raise InvalidLines(_("Name at least one order line and its quantity."), field="lines")
    by_sku = _lock_lines(order)
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
        resolved.append((line, item.quantity))
    return resolved


def _check_window(order: Order, *, needs_delivery: bool) -> None:
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


def _resolve_reason(kind: str, reason_code: str | None, *, required: bool) -> ReasonCode | None:
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


def _check_opener(order: Order, actor: Actor) -> None:
    if actor.kind == ActorKind.BUYER and (actor.buyer is None or actor.buyer.pk != order.buyer_id):
        raise NotPermitted(_("Order %(order)s belongs to another buyer.") % {"order": order.number}, field="order")


def _create(
    model: type[T],
    *,
    order: Order,
    actor: Actor,
    lines: Sequence[tuple[OrderLine, int]],
    fields: Mapping[str, Any],
    payload: Mapping[str, Any] | None = None,
) -> T:
    now = timezone.now()
    ticket = model(
        kind=model.KIND,
        state=model.INITIAL_STATE,
        shop=order.shop,
        order=order,
        buyer=order.buyer,
        created_at=now,
        updated_at=now,
        **fields,
    )
    step_apply(ticket, now=now)
    ticket.pk = _reserve_ticket_id()
    if ticket.pk is not None:  # the number is known before the insert: one write, no second version of the row
        ticket.number = ticket_number(ticket)
        ticket.save(force_insert=(Ticket,))
    else:
        ticket.save()
        ticket.number = ticket_number(ticket)
        Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
    ticket_lines = TicketLine.objects.bulk_create(
        [TicketLine(ticket_id=ticket.pk, order_line=line, quantity=qty) for line, qty in lines]
    )
    rows_known(ticket, "lines", sorted(ticket_lines, key=lambda tl: tl.order_line_id))
    rows_known(ticket, "events", [])  # event_record adds each entry it writes
    event_record(
        ticket=ticket,
        actor=actor,
        event_type=EventType.CREATED,
        to_state=ticket.state,
        reason=ticket.description,
        payload={
            **(payload or {}),
            "lines": [{"sku": line.sku, "quantity": qty} for line, qty in lines],
            "department": ticket.department,
            "due_at": ticket.due_at,
        },
        at=now,
    )
    if ticket.assignee is not None:
        assignment_record(ticket=ticket, previous=None, at=now)
    return ticket


def return_open(
    *,
    order: Order,
    actor: Actor,
    lines: Sequence[LineRequest],
    reason_code: str,
    refund_only: bool = False,
    requested_amount: Decimal | None = None,
    description: str = "",
    origin: Ticket | None = None,
) -> ReturnTicket:
    """Open a return (with goods back) or a refund-only request for the given order lines.

    Refuses outside the return window, beyond the quantities still returnable, and above what was paid
    for those lines minus what was already refunded. Without ``requested_amount``, asks for all of it.
    A ``origin`` ticket (an exchange out of stock, a lost parcel) skips the window check: the merchant
    owes that refund whatever the date.
    """
    _check_opener(order, actor)
    with transaction.atomic():
        reason = _resolve_reason(Kind.RETURN, reason_code, required=True)
        resolved = _resolve_lines(order, lines, check_returnable=True)
        if origin is None:
            _check_window(order, needs_delivery=not refund_only)
        cap = ticket_refundable_amount(lines=[TicketLine(order_line=line, quantity=qty) for line, qty in resolved])
        amount = cap if requested_amount is None else requested_amount
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise InvalidAmount(_("The requested amount must be above ¥0.00, in fen."), field="requested_amount")
        if amount > cap:
            raise RefundExceedsPaid(
                _("At most ¥%(cap)s can still be refunded for these lines; ¥%(asked)s asked.")
                % {"cap": cap, "asked": amount},
                field="requested_amount",
            )
        return _create(
            ReturnTicket,
            order=order,
            actor=actor,
            lines=resolved,
            fields={
                "reason": reason,
                "description": description,
                "refund_only": refund_only,
                "requested_amount": amount,
                "origin": origin,
                "goods_received": bool(origin is not None and origin.kind == Kind.EXCHANGE),
            },
            payload={"refund_only": refund_only, "requested_amount": amount},
        )


def exchange_open(
    *,
    order: Order,
    actor: Actor,
    lines: Sequence[LineRequest],
    reason_code: str,
    replacement_sku: str,
    replacement_name: str = "",
    description: str = "",
) -> ExchangeTicket:
    """Open an exchange: the items come back and a replacement (another size, colour, …) goes out."""
    _check_opener(order, actor)
    replacement_sku = require(replacement_sku, "replacement_sku", _("The replacement SKU"))
    with transaction.atomic():
        reason = _resolve_reason(Kind.EXCHANGE, reason_code, required=True)
        resolved = _resolve_lines(order, lines, check_returnable=True)
        _check_window(order, needs_delivery=True)
        return _create(
            ExchangeTicket,
            order=order,
            actor=actor,
            lines=resolved,
            fields={
                "reason": reason,
                "description": description,
                "replacement_sku": replacement_sku,
                "replacement_name": replacement_name,
            },
            payload={"replacement_sku": replacement_sku},
        )


SEVERITY_PRIORITY = {
    Severity.LOW: Priority.LOW,
    Severity.MEDIUM: Priority.NORMAL,
    Severity.HIGH: Priority.HIGH,
    Severity.CRITICAL: Priority.URGENT,
}


def complaint_open(
    *,
    order: Order,
    actor: Actor,
    category: str,
    description: str,
    severity: int = Severity.MEDIUM,
    lines: Sequence[LineRequest] = (),
    reason_code: str | None = None,
) -> ComplaintTicket:
    """Open a complaint. Its severity sets the starting priority."""
    from tickets.models import ComplaintCategory

    _check_opener(order, actor)
    if category not in ComplaintCategory.values:
        raise InvalidReason(
            _("'%(category)s' is not a complaint category (%(choices)s).")
            % {"category": category, "choices": ", ".join(ComplaintCategory.values)},
            field="category",
        )
    if severity not in Severity.values:
        raise InvalidReason(_("Severity must be one of %(choices)s.") % {"choices": Severity.values}, field="severity")
    description = require(description, "description", _("A description of the complaint"))
    with transaction.atomic():
        reason = _resolve_reason(Kind.COMPLAINT, reason_code, required=False)
        resolved = _resolve_lines(order, lines, check_returnable=False) if lines else []
        return _create(
            ComplaintTicket,
            order=order,
            actor=actor,
            lines=resolved,
            fields={
                "reason": reason,
                "description": description,
                "category": category,
                "severity": severity,
                "priority": SEVERITY_PRIORITY[Severity(severity)],
            },
            payload={"category": category, "severity": severity},
        )


def logistics_open(
    *,
    order: Order,
    actor: Actor,
    exception_type: str,
    shipment: Shipment | None = None,
    description: str = "",
    lines: Sequence[LineRequest] = (),
) -> LogisticsTicket:
    """Open a logistics exception for a shipment of the order (the buyer, staff, or the stalled sweep)."""
    from tickets.models import ExceptionType

    _check_opener(order, actor)
    if exception_type not in ExceptionType.values:
        raise InvalidReason(
            _("'%(type)s' is not an exception type (%(choices)s).")
            % {"type": exception_type, "choices": ", ".join(ExceptionType.values)},
            field="exception_type",
        )
    if shipment is not None and shipment.order_id != order.pk:
        raise InvalidLines(
            _("Shipment %(shipment)s is not a shipment of order %(order)s.")
            % {"shipment": shipment, "order": order.number},
            field="shipment",
        )
    with transaction.atomic():
        if lines:
            resolved = _resolve_lines(order, lines, check_returnable=False)
        else:  # a parcel problem concerns the whole order unless told otherwise
            resolved = [(line, line.quantity) for line in _lock_lines(order).values()]
        # One stalled-parcel ticket per shipment (the constraint logistics_one_stalled_ticket_per_shipment):
        # checked under the order's line locks, so a second report is a refusal, not an IntegrityError.
        if exception_type == ExceptionType.STALLED and shipment is not None:
            reported = LogisticsTicket.objects.filter(exception_type=exception_type, shipment=shipment).first()
            if reported is not None:
                raise StalledParcelReported(
                    _("Shipment %(shipment)s is already reported as stalled in ticket %(number)s.")
                    % {"shipment": shipment, "number": reported.number},
                    field="shipment",
                )
        return _create(
            LogisticsTicket,
            order=order,
            actor=actor,
            lines=resolved,
            fields={"description": description, "exception_type": exception_type, "shipment": shipment},
            payload={"exception_type": exception_type, "shipment": str(shipment) if shipment else None},
        )
