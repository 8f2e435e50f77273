"""Reads for the API, each with a fixed number of queries whatever the page size.

A page of tickets is read as base rows (the paginated query), then as their kinds (one query per kind
present, with the kind's shipments joined), then their lines (one query), and for details the timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import CharField, DateTimeField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.http import Http404

from orders.models import Order, Shop
from tickets.actors import Actor
from tickets.models import Ticket, TicketEvent, TicketLine
from tickets.selectors import rows_known_of
from tickets.workflows import model_for_kind, model_for_number

FAR_FUTURE = "9999-12-31T00:00:00Z"

KIND_RELATED = {
    "return": ("return_shipment",),
    "exchange": ("return_shipment", "replacement_shipment"),
    "complaint": (),
    "logistics": ("shipment",),
}
# What each caller's answer shows (the reason comes from the reason-code snapshot, the storefront's shop from
# its API key): fewer joins, cheaper to plan and to read.
STOREFRONT_RELATED = ("order", "buyer")
# Of the joined order and buyer, a ticket's answer shows the order's number and the buyer's id (and names the
# buyer as the actor): their other columns are not read.
STOREFRONT_DEFERRED = (
    "order__status", "order__paid_at", "order__delivered_at", "order__created_at", "order__updated_at",
    "buyer__phone", "buyer__email", "buyer__tier",
)
STAFF_RELATED = ("shop", "order", "buyer", "assignee")


def storefront_scope(*, shop: Shop) -> Q:
    return Q(shop=shop)


def storefront_tickets(*, shop: Shop) -> QuerySet[Ticket]:
    return Ticket.objects.filter(storefront_scope(shop=shop))


def storefront_page(*, shop: Shop) -> QuerySet:
    """The storefront list's paginated query, as plain rows of what finds the page (id, kind) and orders it
    (created_at): the tickets are then read as their kinds (``tickets_as_kinds``), so building full objects
    here would be work thrown away."""
    return storefront_tickets(shop=shop).values("id", "kind", "created_at")


def staff_scope(*, actor: Actor) -> Q:
    """Supervisors see every ticket; others the tickets their departments must act on now."""
    return Q() if actor.is_supervisor else Q(department__in=sorted(actor.departments))


def staff_tickets(*, actor: Actor) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(staff_scope(actor=actor))
    return tickets.annotate(queue_due=Coalesce("due_at", Value(FAR_FUTURE, output_field=DateTimeField())))


def tickets_as_kinds(
    tickets: Sequence[Ticket | dict],
    *,
    related: Sequence[str] = STAFF_RELATED,
    deferred: Sequence[str] = (),
    shop: Shop | None = None,
    with_lines: bool = False,
) -> list[Ticket]:
    """The same tickets, same order, loaded as their kinds (one query per kind present).

    ``tickets`` are tickets or rows with their ``id`` and ``kind``. With ``shop`` (the storefront's, which every
    ticket belongs to) the shop is attached, not joined; ``deferred`` columns of the joined rows are not read.
    ``with_lines``: each ticket's lines as its answer shows them come in the same query where the database can
    (PostgreSQL), for ``lines_by_ticket``.
    """
    keys = [(t["id"], t["kind"]) if isinstance(t, dict) else (t.pk, t.kind) for t in tickets]
    ids_by_kind: dict[str, list[int]] = defaultdict(list)
    for pk, kind in keys:
        ids_by_kind[kind].append(pk)
    loaded: dict[int, Ticket] = {}
    for kind, ids in ids_by_kind.items():
        model = model_for_kind(kind)
        query = model.objects.select_related(*related, *KIND_RELATED[kind]).defer(*deferred).filter(pk__in=ids)
        for obj in _with_shown_lines(query) if with_lines else query:
            if shop is not None:
                obj.shop = shop
            loaded[obj.pk] = obj
    return [loaded[pk] for pk, _kind in keys if pk in loaded]


@dataclass(frozen=True, slots=True)
class ShownLine:
    """A ticket line as an answer shows it: read for the answer only, never changed or saved."""

    sku: str
    name: str
    quantity: int
    refunded_amount: Decimal


def _with_shown_lines(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """On PostgreSQL, each ticket with its lines as JSON objects (``shown_lines``): one query fewer for a page."""
    if connection.vendor != "postgresql":
        return tickets
    from django.contrib.postgres.expressions import ArraySubquery

    lines = (
        TicketLine.objects.filter(ticket_id=OuterRef("pk"))
        .order_by("order_line_id")
        .values(
            json=JSONObject(
                sku="order_line__sku",
                name="order_line__name",
                quantity="quantity",
                refunded_amount=Cast("refunded_amount", CharField()),  # exact, not a JSON number
            )
        )
    )
    return tickets.annotate(shown_lines=ArraySubquery(lines))


def lines_by_ticket(tickets: Sequence[Ticket]) -> dict[int, list[ShownLine]]:
    """Each ticket's lines as its answer shows them: the ones a ticket already knows (just made, or read with it),
    the rest in one query."""
    found: dict[int, list[ShownLine]] = defaultdict(list)
    unknown = []
    for ticket in tickets:
        known = rows_known_of(ticket, "lines")
        if known is not None:
            found[ticket.pk] = [
                ShownLine(line.order_line.sku, line.order_line.name, line.quantity, line.refunded_amount)
                for line in known
            ]
        elif hasattr(ticket, "shown_lines"):
            found[ticket.pk] = [
                ShownLine(row["sku"], row["name"], row["quantity"], Decimal(row["refunded_amount"]))
                for row in ticket.shown_lines
            ]
        else:
            unknown.append(ticket.pk)
    if unknown:
        rows = (
            TicketLine.objects.filter(ticket_id__in=unknown)
            .order_by("order_line_id")
            .values_list("ticket_id", "order_line__sku", "order_line__name", "quantity", "refunded_amount")
        )
        for ticket_id, *shown in rows:
            found[ticket_id].append(ShownLine(*shown))
    return found


def ticket_in(
    scope: Q,
    number: str,
    *,
    related: Sequence[str] = STAFF_RELATED,
    shop: Shop | None = None,
    with_lines: bool = False,
) -> Ticket:
    """The ticket ``number`` as its kind (known from the number's prefix) if ``scope`` (the caller's) holds
    it; else 404. One query. ``with_lines`` as for ``tickets_as_kinds``: only for an answer about the ticket as
    read (a change may change its lines).
    """
    model = model_for_number(number)
    if model is None:
        raise Http404
    # No .only(): a deferred state field costs django-fsm one query per row.
    # Numbers are unique: no ORDER BY (which .first() would add, and compile, on every request).
    query = model.objects.select_related(*related, *KIND_RELATED[model.KIND]).filter(scope, number=number)
    found = list((_with_shown_lines(query) if with_lines else query)[:1])
    if not found:
        raise Http404
    ticket = found[0]
    if shop is not None:
        ticket.shop = shop
    return ticket


INTERNAL_EVENT_TYPES = ("assignment", "warning", "escalation")


def timeline(ticket: Ticket, *, public_only: bool) -> list[TicketEvent]:
    events = rows_known_of(ticket, "events")
    if events is not None:  # a ticket just made knows its entries
        return [e for e in events if not public_only or (e.public and e.event_type not in INTERNAL_EVENT_TYPES)]
    query = TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk")
    if public_only:
        query = query.filter(public=True).exclude(event_type__in=INTERNAL_EVENT_TYPES)
    return list(query)


def order_for_shop(*, shop: Shop, number: str) -> Order:
    order = (
        Order.objects.filter(shop=shop, number=number)
        .select_related("shop", "buyer")
        .prefetch_related("lines", "shipments")
        .first()
    )
    if order is None:
        raise Http404
    return order
