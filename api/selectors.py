"""Reads for the API, each with a fixed number of queries whatever the page size.

A page of tickets is read as base rows (the paginated query), then as their kinds (one query per kind
present, with the kind's shipments joined), then their lines (one query), and for details the timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from orders.models import Order, Shop
from tickets.actors import Actor
from tickets.models import Ticket, TicketEvent, TicketLine
from tickets.workflows import model_for_kind

FAR_FUTURE = "9999-12-31T00:00:00Z"

KIND_RELATED = {
    "return": ("return_shipment",),
    "exchange": ("return_shipment", "replacement_shipment"),
    "complaint": (),
    "logistics": ("shipment",),
}
COMMON_RELATED = ("shop", "order", "buyer", "reason", "assignee")


def storefront_tickets(*, shop: Shop) -> QuerySet[Ticket]:
    return Ticket.objects.filter(shop=shop)


def staff_tickets(*, actor: Actor) -> QuerySet[Ticket]:
    """Supervisors see every ticket; others the tickets their departments must act on now."""
    tickets = Ticket.objects.all()
    if not actor.is_supervisor:
        tickets = tickets.filter(department__in=sorted(actor.departments))
    return tickets.annotate(queue_due=Coalesce("due_at", Value(FAR_FUTURE, output_field=DateTimeField())))


def tickets_as_kinds(tickets: Sequence[Ticket]) -> list[Ticket]:
    """The same tickets, same order, loaded as their kinds (one query per kind present)."""
    ids_by_kind: dict[str, list[int]] = defaultdict(list)
    for t in tickets:
        ids_by_kind[t.kind].append(t.pk)
    loaded: dict[int, Ticket] = {}
    for kind, ids in ids_by_kind.items():
        model = model_for_kind(kind)
        for obj in model.objects.select_related(*COMMON_RELATED, *KIND_RELATED[kind]).filter(pk__in=ids):
            loaded[obj.pk] = obj
    return [loaded[t.pk] for t in tickets if t.pk in loaded]


def lines_by_ticket(tickets: Sequence[Ticket]) -> dict[int, list[TicketLine]]:
    found: dict[int, list[TicketLine]] = defaultdict(list)
    for line in TicketLine.objects.filter(ticket_id__in=[t.pk for t in tickets]).select_related("order_line"):
        found[line.ticket_id].append(line)
    return found


def ticket_in(queryset: QuerySet[Ticket], number: str) -> Ticket:
    """The ticket ``number`` if ``queryset`` (the caller's scope) holds it, as its kind; else 404."""
    # No .only(): a deferred state field costs django-fsm one query per row.
    base = queryset.filter(number=number).first()
    if base is None:
        raise Http404
    return tickets_as_kinds([base])[0]


def timeline(ticket: Ticket, *, public_only: bool) -> list[TicketEvent]:
    events = TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk")
    if public_only:
        events = events.filter(public=True).exclude(event_type__in=["assignment", "warning", "escalation"])
    return list(events)


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
