"""The buyer panel of the ticket page: the order and its lines (those the ticket is about marked), the buyer's
earlier tickets with their outcome, totals (orders, tickets, refunded), open risk flags, and a link to the
buyer's whole history (the ticket list filtered to the buyer).

Five queries whatever the buyer's history: the earlier tickets (the last ``EARLIER_SHOWN``, each with what was
refunded on it), the ticket count, the order count with the refunded total, the ticket's own lines, and the
flags (risk.selectors). The order's lines and shipments are prefetched by the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils.http import urlencode

from kefu.core.vocabulary import state_label
from orders.models import Order
from risk.selectors import ShownFlag, ticket_flags
from tickets.models import Kind, RefundStatus, Ticket, TicketLine

EARLIER_SHOWN = 5
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class EarlierTicket:
    pk: int
    number: str
    kind_label: str
    outcome: str  # the state's label: how it ended, or where it stands
    open: bool
    created_at: Any
    refunded: Decimal
    url: str


@dataclass(frozen=True)
class BuyerPanel:
    earlier: list[EarlierTicket]
    tickets: int  # all the buyer's tickets, this one included
    orders: int
    refunded: Decimal  # refunded on all the buyer's orders
    flags: list[ShownFlag]
    ticket_lines: dict[int, int]  # order line id -> quantity this ticket is about
    history_url: str


def buyer_panel(ticket: Ticket) -> BuyerPanel:
    kinds = dict(Kind.choices)
    rows = (
        Ticket.objects.filter(buyer_id=ticket.buyer_id)
        .exclude(pk=ticket.pk)
        .annotate(refunded=Sum("refunds__amount", filter=Q(refunds__status=RefundStatus.SUCCEEDED)))
        .order_by("-created_at", "-pk")
        .values("pk", "number", "kind", "state", "closed_at", "created_at", "refunded")[:EARLIER_SHOWN]
    )
    earlier = [
        EarlierTicket(
            pk=row["pk"],
            number=row["number"],
            kind_label=str(kinds.get(row["kind"], "")),
            outcome=state_label(row["kind"], row["state"]),
            open=row["closed_at"] is None,
            created_at=row["created_at"],
            refunded=money(row["refunded"]),
            url=reverse("admin:tickets_ticket_change", args=[row["pk"]]),
        )
        for row in rows
    ]
    totals = Order.objects.filter(buyer_id=ticket.buyer_id).aggregate(
        orders=Count("pk", distinct=True), refunded=Sum("lines__refunded_amount")
    )
    return BuyerPanel(
        earlier=earlier,
        tickets=Ticket.objects.filter(buyer_id=ticket.buyer_id).count(),
        orders=totals["orders"] or 0,
        refunded=money(totals["refunded"]),
        flags=ticket_flags(ticket),
        ticket_lines=dict(TicketLine.objects.filter(ticket_id=ticket.pk).values_list("order_line_id", "quantity")),
        history_url=buyer_history_url(ticket.buyer_id),
    )


def money(value: Decimal | None) -> Decimal:
    """A sum in fen (SQLite's SUM drops the trailing zeros: 60 for 60.00)."""
    return Decimal(value or ZERO).quantize(Decimal("0.01"))


def buyer_history_url(buyer_id: int) -> str:
    """The ticket list showing every ticket of the buyer (in the user's scope)."""
    query = urlencode({"buyer__id__exact": buyer_id})
    return f"{reverse('admin:tickets_ticket_changelist')}?{query}"
