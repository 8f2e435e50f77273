"""Reads for the API, each with a fixed number of queries whatever the page size.

A page of tickets is read as base rows (the paginated query), then as their kinds (one query per kind
present, with the kind's shipments joined), then their lines (one query). One ticket's answer reads its lines and
timeline (``answer_rows``: one statement on PostgreSQL).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Field, Model, Q, QuerySet
from django.http import Http404

from kefu.core.known_rows import rows_known_of
from kefu.core.prepared import PreparedQuery
from orders.models import Order, OrderLine, Shop
from tickets.models import Ticket, TicketEvent, TicketLine
from tickets.selectors import KIND_RELATED, STAFF_RELATED, tickets_as_kinds
from tickets.workflows import model_for_number

# What each caller's answer shows (the reason comes from the reason-code snapshot, the storefront's shop from
# its API key): fewer joins, cheaper to plan and to read.
STOREFRONT_RELATED = ("order", "buyer")
# Of the joined order and buyer, a ticket's answer shows the order's number and the buyer's id (and names the
# buyer as the actor): their other columns are not read.
STOREFRONT_DEFERRED = (
    "order__status",
    "order__paid_at",
    "order__delivered_at",
    "order__created_at",
    "order__updated_at",
    "buyer__phone",
    "buyer__email",
    "buyer__tier",
)


def storefront_scope(*, shop: Shop) -> Q:
    return Q(shop=shop)


def storefront_tickets(*, shop: Shop) -> QuerySet[Ticket]:
    return Ticket.objects.filter(storefront_scope(shop=shop))


def storefront_page(*, shop: Shop) -> QuerySet:
    """The storefront list's paginated query, as plain rows of what finds the page (id, kind) and orders it
    (created_at): the tickets are then read as their kinds (``tickets_as_kinds``), so building full objects
    here would be work thrown away."""
    return storefront_tickets(shop=shop).values("id", "kind", "created_at")


@dataclass(frozen=True, slots=True)
class ShownLine:
    """A ticket line as an answer shows it: read for the answer only, never changed or saved."""

    sku: str
    name: str
    quantity: int
    refunded_amount: Decimal


def lines_by_ticket(tickets: Sequence[Ticket]) -> dict[int, list[ShownLine]]:
    """Each ticket's lines as its answer shows them: the ones a ticket already knows (just made), the rest in one
    statement (on PostgreSQL written out, ``_lines_sql``; elsewhere through the ORM)."""
    found: dict[int, list[ShownLine]] = defaultdict(list)
    unknown = []
    for ticket in tickets:
        known = rows_known_of(ticket, "lines")
        if known is None:
            unknown.append(ticket.pk)
        else:
            found[ticket.pk] = [
                ShownLine(line.order_line.sku, line.order_line.name, line.quantity, line.refunded_amount)
                for line in known
            ]
    if not unknown:
        return found
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_lines_sql(), [unknown])
            rows = cursor.fetchall()
    else:
        rows = (
            TicketLine.objects.filter(ticket_id__in=unknown)
            .order_by("order_line_id")
            .values_list("ticket_id", "order_line__sku", "order_line__name", "quantity", "refunded_amount")
        )
    for ticket_id, *shown in rows:
        found[ticket_id].append(ShownLine(*shown))
    return found


def _col(model: type[Model], name: str) -> str:
    """A model field's column, quoted, for the written-out statements below (names from the models: a renamed
    column breaks them loudly; only names are put in, every value is a parameter)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{name} has no column")
    return connection.ops.quote_name(field.column)


def _lines_from(ticket_condition: str) -> str:
    """``FROM`` the ticket lines (``tl``) joined to their order lines (``ol``), for the tickets ``tl`` matches."""
    q = connection.ops.quote_name
    return (
        f"FROM {q(TicketLine._meta.db_table)} tl JOIN {q(OrderLine._meta.db_table)} ol "
        f"ON ol.{_col(OrderLine, 'id')} = tl.{_col(TicketLine, 'order_line')} "
        f"WHERE tl.{_col(TicketLine, 'ticket')} {ticket_condition}"
    )


@functools.cache
def _lines_sql() -> str:
    """The ORM's reading of ``lines_by_ticket`` as one statement whatever the number of tickets (``= ANY`` of an
    array, where ``IN`` lists make a statement per page size): composed once, prepared by PostgreSQL."""
    return (
        f"SELECT tl.{_col(TicketLine, 'ticket')}, ol.{_col(OrderLine, 'sku')}, ol.{_col(OrderLine, 'name')}, "
        f"tl.{_col(TicketLine, 'quantity')}, tl.{_col(TicketLine, 'refunded_amount')} "
        f"{_lines_from('= ANY(%s)')} ORDER BY tl.{_col(TicketLine, 'order_line')}"
    )


_storefront_order = PreparedQuery(
    lambda shop_id, number: Order.objects.select_related("buyer").filter(shop_id=shop_id, number=number)[:1],
    shop_id=-7_301_103,
    number="\x1f stand-in \x1f",
)


def storefront_order(*, shop: Shop, number: str) -> Order:
    """The shop's order ``number`` with its buyer (an opening's order), or 404: composed once per process."""
    found = _storefront_order.instances(shop_id=shop.pk, number=number)
    if not found:
        raise Http404
    order = found[0]
    order.shop = shop  # the key's shop, already loaded
    return order


@functools.cache
def _storefront_ticket(model: type[Ticket]) -> PreparedQuery[Ticket]:
    """A storefront's ticket by number, as its kind with what its answer shows joined: composed once per kind."""
    return PreparedQuery(
        lambda shop_id, number: model.objects.select_related(*STOREFRONT_RELATED, *KIND_RELATED[model.KIND]).filter(
            shop_id=shop_id, number=number
        )[:1],
        shop_id=-7_301_101,
        number="\x1f stand-in \x1f",
    )


def storefront_ticket(*, shop: Shop, number: str) -> Ticket:
    """The shop's ticket ``number`` as its kind, or 404: ``ticket_in`` for a storefront, in one statement
    composed once per kind (every retrieve and action of the storefront API starts here)."""
    model = model_for_number(number)
    if model is None:
        raise Http404
    found = _storefront_ticket(model).instances(shop_id=shop.pk, number=number)
    if not found:
        raise Http404
    ticket = found[0]
    ticket.shop = shop
    return ticket


@functools.cache
def _storefront_kind_rows(model: type[Ticket]) -> PreparedQuery[Ticket]:
    """A page's tickets of one kind by id, in one statement whatever the page size (``= ANY`` of an array)."""
    column = f"{connection.ops.quote_name(Ticket._meta.db_table)}.{_col(Ticket, 'id')}"
    return PreparedQuery(
        lambda ids: (
            model.objects.select_related(*STOREFRONT_RELATED, *KIND_RELATED[model.KIND])
            .defer(*STOREFRONT_DEFERRED)
            # Only the column's name (from the model) is put in; the ids are a parameter.
            .extra(where=[f"{column} = ANY(%s)"], params=[ids])  # noqa: S610
        ),
        ids=[-7_301_102],
    )


def storefront_page_tickets(rows: Sequence[dict], *, shop: Shop) -> list[Ticket]:
    """A storefront list's page (rows of ``storefront_page``) as its kinds, in order: on PostgreSQL one statement
    per kind present, composed once per kind; elsewhere the ORM's."""
    postgres = connection.vendor == "postgresql"
    return tickets_as_kinds(
        rows,
        related=STOREFRONT_RELATED,
        deferred=STOREFRONT_DEFERRED,
        shop=shop,
        read=(lambda model, ids: _storefront_kind_rows(model).instances(ids=ids)) if postgres else None,
    )


def ticket_in(scope: Q, number: str, *, related: Sequence[str] = STAFF_RELATED, shop: Shop | None = None) -> Ticket:
    """The ticket ``number`` as its kind (known from the number's prefix) if ``scope`` (the caller's) holds
    it; else 404. One query.
    """
    model = model_for_number(number)
    if model is None:
        raise Http404
    # No .only(): a deferred state field costs django-fsm one query per row.
    # Numbers are unique: no ORDER BY (which .first() would add, and compile, on every request).
    found = list(model.objects.select_related(*related, *KIND_RELATED[model.KIND]).filter(scope, number=number)[:1])
    if not found:
        raise Http404
    ticket = found[0]
    if shop is not None:
        ticket.shop = shop
    return ticket


def ticket_left_departments(number: str, *, departments: frozenset[str]) -> Ticket | None:
    """The ticket ``number`` if it is out of ``departments``' scope now but one of them held one of its steps.

    A staff write that no longer finds its ticket in the caller's scope (``ticket_in`` says 404) asks this: a
    transition that won a race moved the ticket on to another department (an approval hands a return to the
    buyer), and the loser, which saw it in its queue a moment ago, is told the ticket changed (409), not that it
    does not exist. Only read on that refusal path, never on a request that finds its ticket.
    """
    model = model_for_number(number)
    if model is None or not departments:
        return None
    ticket = model.objects.filter(number=number).only("id", "number", "kind", "state", "version").first()
    if ticket is None:
        return None
    held = sorted(departments)
    events = TicketEvent.objects.filter(ticket_id=ticket.pk)
    if events.filter(Q(step_department__in=held) | Q(payload__previous_department__in=held)).exists():
        return ticket
    return None


INTERNAL_EVENT_TYPES = ("assignment", "warning", "escalation")


def timeline(ticket: Ticket, *, public_only: bool) -> list[TicketEvent]:
    events = rows_known_of(ticket, "events")
    if events is not None:  # a ticket just made knows its entries
        return [e for e in events if not public_only or (e.public and e.event_type not in INTERNAL_EVENT_TYPES)]
    query = TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk")
    if public_only:
        query = query.filter(public=True).exclude(event_type__in=INTERNAL_EVENT_TYPES)
    return list(query)


@dataclass(frozen=True, slots=True)
class ShownEvent:
    """A timeline entry as an answer shows it (the attributes are ``TicketEvent``'s): read for the answer only."""

    event_type: str
    created_at: datetime
    actor_kind: str
    actor_name: str
    transition: str
    from_state: str
    to_state: str
    reason: str
    public: bool
    payload: dict[str, Any]  # the system reason's code and parameters (tickets.wording.event_reason)


def answer_rows(ticket: Ticket, *, public_only: bool) -> tuple[list[ShownLine], Sequence[TicketEvent | ShownEvent]]:
    """The lines and the timeline (``public_only``: the buyer's) of the answer about ``ticket``, as they are now:
    an answer after a change reads them after it.

    What the ticket knows (just made) is used; on PostgreSQL the rest comes in one statement (``_answer_rows_sql``:
    read by every retrieve and every action), else through the ORM (``lines_by_ticket``, ``timeline``).
    """
    knows = rows_known_of(ticket, "events") is not None or rows_known_of(ticket, "lines") is not None
    if connection.vendor != "postgresql" or knows:
        return lines_by_ticket([ticket])[ticket.pk], timeline(ticket, public_only=public_only)
    with connection.cursor() as cursor:
        cursor.execute(_answer_rows_sql(), [ticket.pk, ticket.pk, public_only, list(INTERNAL_EVENT_TYPES)])
        lines, events = cursor.fetchone()
    return (
        [ShownLine(row["sku"], row["name"], row["quantity"], Decimal(row["refunded_amount"])) for row in lines],
        [ShownEvent(**{**row, "created_at": datetime.fromisoformat(row["created_at"])}) for row in events],
    )


@functools.cache
def _answer_rows_sql() -> str:
    """Both lists of ``answer_rows`` as two JSON arrays, in the orders ``lines_by_ticket`` and ``timeline`` give.

    Written out, not composed by the ORM: composing it took longer than PostgreSQL takes to run it (0.2 ms for
    both lists against 1.4–2.1 ms for the two ORM queries); tests/api/test_fast_output.py compares it with the
    ORM's reading.
    """
    q = connection.ops.quote_name
    event_fields = ", ".join(f"'{name}', e.{_col(TicketEvent, name)}" for name in ShownEvent.__slots__)
    return (
        "SELECT (SELECT coalesce(json_agg(json_build_object("  # noqa: S608 - names from the models (see _col)
        f"'sku', ol.{_col(OrderLine, 'sku')}, 'name', ol.{_col(OrderLine, 'name')}, "
        f"'quantity', tl.{_col(TicketLine, 'quantity')}, "
        f"'refunded_amount', tl.{_col(TicketLine, 'refunded_amount')}::text"
        f") ORDER BY tl.{_col(TicketLine, 'order_line')}), '[]') {_lines_from('= %s')}), "
        f"(SELECT coalesce(json_agg(json_build_object({event_fields}) "
        f"ORDER BY e.{_col(TicketEvent, 'created_at')}, e.{_col(TicketEvent, 'id')}), '[]') "
        f"FROM {q(TicketEvent._meta.db_table)} e WHERE e.{_col(TicketEvent, 'ticket')} = %s AND (NOT %s OR "
        f"(e.{_col(TicketEvent, 'public')} AND e.{_col(TicketEvent, 'event_type')} <> ALL(%s))))"
    )


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
