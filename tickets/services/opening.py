"""Opening tickets of each kind, after the eligibility guards of tickets.services.eligibility (the order's lines
locked, what is still returnable, the return window, the reason, who may open)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.known_rows import rows_known
from kefu.core.writes import NewRows, rows_write
from orders.models import Order, OrderLine, Shipment
from tickets.actors import Actor
from tickets.errors import (
    InvalidAmount,
    InvalidLines,
    InvalidReason,
    RefundExceedsPaid,
    StalledParcelReported,
    require,
)
from tickets.locks import order_lines_locked
from tickets.models import (
    ComplaintTicket,
    EventType,
    ExchangeTicket,
    Kind,
    LogisticsTicket,
    Priority,
    ReturnTicket,
    Severity,
    Ticket,
    TicketEvent,
    TicketLine,
)
from tickets.selectors import ticket_refundable_amount
from tickets.services.eligibility import (
    lines_resolve,
    opener_check,
    reason_resolve,
    return_window_check,
)
from tickets.services.engine import assignment_record, event_new, event_published, step_apply
from tickets.types import LineRequest

T = TypeVar("T", bound=Ticket)


def ticket_number(ticket: Ticket) -> str:
    """``RT20261122000123``: kind prefix, local creation date, then the id (unique without a counter)."""
    day = timezone.localtime(ticket.created_at)
    return f"{ticket.NUMBER_PREFIX}{day:%Y%m%d}{ticket.pk:06d}"


def _reserve_ticket_id(lines: Sequence[tuple[OrderLine, int]]) -> int | None:
    """On PostgreSQL, the next ticket id from the table's own sequence (None elsewhere).

    The ticket number contains the id; taking the id first writes the row once with its number, where
    inserting then updating would write every index of the ticket table twice. The statement that locked the
    order's lines took one already (``tickets.locks.order_lines_locked``): it is taken off the lines, so no other
    ticket can use it; an opening without lines asks the sequence.
    """
    if connection.vendor != "postgresql":
        return None
    taken = {line.__dict__.pop("ticket_id_taken", None) for line, _quantity in lines} - {None}
    if taken:
        return int(min(taken))
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Ticket._meta.db_table])
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Platform:
    """A ticket opened for a marketplace's case: which platform, and its deadline for the merchant's answer
    (``Ticket.platform``/``platform_due_at``; ``step_apply`` puts the first step's deadline before it)."""

    name: str
    due_at: datetime | None = None


def _platform_fields(platform: Platform | None) -> dict[str, Any]:
    if platform is None:
        return {}
    return {"platform": platform.name, "platform_due_at": platform.due_at}


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
    ticket.id = ticket.pk = _reserve_ticket_id(lines)  # the common row's id, and the kind's row's link to it
    if ticket.pk is not None:  # the number is known before the insert: one write, no second version of the row
        ticket.number = ticket_number(ticket)
        ticket_rows = [NewRows(Ticket, [ticket]), NewRows(model, [ticket])]
    else:
        ticket.save()
        ticket.number = ticket_number(ticket)
        Ticket.objects.filter(pk=ticket.pk).update(number=ticket.number)
        ticket_rows = []
    ticket_lines = [TicketLine(ticket_id=ticket.pk, order_line=line, quantity=qty) for line, qty in lines]
    created = event_new(
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
    # The ticket's two rows (its kind's: multi-table inheritance), its lines and its first timeline entry: one
    # statement on PostgreSQL (kefu.core.writes).
    rows_write(*ticket_rows, NewRows(TicketLine, ticket_lines), NewRows(TicketEvent, [created]))
    rows_known(ticket, "lines", sorted(ticket_lines, key=lambda tl: tl.order_line_id))
    rows_known(ticket, "events", [])  # event_published adds each entry written
    event_published(ticket=ticket, event=created)
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
    platform: Platform | None = None,
) -> ReturnTicket:
    """Open a return (with goods back) or a refund-only request for the given order lines.

    Refuses outside the return window, beyond the quantities still returnable, and above what was paid
    for those lines minus what was already refunded. Without ``requested_amount``, asks for all of it.
    A ``origin`` ticket (an exchange out of stock, a lost parcel) skips the window check: the merchant
    owes that refund whatever the date. So does a marketplace's case (``platform``): the platform accepted it.
    """
    opener_check(order, actor)
    with transaction.atomic():
        reason = reason_resolve(Kind.RETURN, reason_code, required=True)
        resolved = lines_resolve(order, lines, check_returnable=True)
        if origin is None and platform is None:
            return_window_check(order, needs_delivery=not refund_only)
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
                **_platform_fields(platform),
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
    platform: Platform | None = None,
    merchant_offer: bool = False,
    note: Mapping[str, Any] | None = None,
) -> ExchangeTicket:
    """Open an exchange: the items come back and a replacement (another size, colour, …) goes out.

    A marketplace's case (``platform``) skips the return window check: the platform accepted it; so does an
    exchange the merchant offers of its own accord (``merchant_offer``: an incident's alternative SKU, before or
    after delivery). ``note``: entries added to the ``created`` timeline entry's payload (e.g. the incident that
    opened it)."""
    opener_check(order, actor)
    replacement_sku = require(replacement_sku, "replacement_sku", _("The replacement SKU"))
    with transaction.atomic():
        reason = reason_resolve(Kind.EXCHANGE, reason_code, required=True)
        resolved = lines_resolve(order, lines, check_returnable=True)
        if platform is None and not merchant_offer:
            return_window_check(order, needs_delivery=True)
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
                **_platform_fields(platform),
            },
            payload={**(note or {}), "replacement_sku": replacement_sku},
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

    opener_check(order, actor)
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
        reason = reason_resolve(Kind.COMPLAINT, reason_code, required=False)
        resolved = lines_resolve(order, lines, check_returnable=False) if lines else []
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
    platform: Platform | None = None,
    note: Mapping[str, Any] | None = None,
) -> LogisticsTicket:
    """Open a logistics exception for a shipment of the order (the buyer, staff, the stalled sweep, an incident).

    ``note``: entries added to the ``created`` timeline entry's payload (e.g. the incident that opened it)."""
    from tickets.models import ExceptionType

    opener_check(order, actor)
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
            resolved = lines_resolve(order, lines, check_returnable=False)
        else:  # a parcel problem concerns the whole order unless told otherwise
            resolved = [(line, line.quantity) for line in order_lines_locked(order).values()]
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
            fields={
                "description": description,
                "exception_type": exception_type,
                "shipment": shipment,
                **_platform_fields(platform),
            },
            payload={
                **(note or {}),
                "exception_type": exception_type,
                "shipment": str(shipment) if shipment else None,
            },
        )
