"""kefu.core.inserts: rows written with INSERTs composed once are the rows Django's own save and bulk_create write,
in one statement on PostgreSQL (on SQLite, one per table)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.db.models.sql import InsertQuery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.core import inserts
from kefu.core.inserts import Rows, rows_insert
from orders.models import OrderLine
from tests.factories.orders import OrderFactory, OrderLineFactory
from tickets.models import ReturnTicket, Ticket, TicketEvent, TicketLine

pytestmark = pytest.mark.django_db


def stored(model, pk) -> dict:
    """Every column of the row, as Django reads it back."""
    return {f.attname: v for f, v in ((f, getattr(model.objects.get(pk=pk), f.attname)) for f in model._meta.fields)}


NOW = timezone.now()


def new_return(order, number: str, now=NOW) -> ReturnTicket:
    return ReturnTicket(
        kind="return",
        state="requested",
        shop=order.shop,
        order=order,
        buyer=order.buyer,
        number=number,
        description="它坏了",
        requested_amount=Decimal("12.30"),
        step_started_at=now,
        created_at=now,
        updated_at=now,
    )


def next_ticket_id() -> int:
    return (Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def test_a_ticket_written_as_its_two_rows_equals_the_one_save_writes():
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="A", quantity=3)
    saved = new_return(order, "RT-SAVED")
    saved.save()
    written = new_return(order, "RT-WRITTEN")
    written.id = written.pk = next_ticket_id()
    lines = [TicketLine(ticket_id=written.pk, order_line=line, quantity=2)]
    event = TicketEvent(ticket_id=written.pk, event_type="created", created_at=timezone.now(), payload={"a": [1]})
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        rows_insert(Rows(Ticket, [written]), Rows(ReturnTicket, [written]), Rows(TicketLine, lines), Rows(TicketEvent, [event]))
    assert len(queries) == (1 if connection.vendor == "postgresql" else 4)
    ignore = {"id", "ticket_ptr_id", "number"}
    a, b = stored(ReturnTicket, saved.pk), stored(ReturnTicket, written.pk)
    assert {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}
    assert b["number"] == "RT-WRITTEN"
    # The ids the database chose are set on the objects, which now count as saved.
    assert lines[0].pk == TicketLine.objects.get(ticket_id=written.pk).pk
    assert TicketEvent.objects.get(pk=event.pk).payload == {"a": [1]}
    assert not written._state.adding and not event._state.adding


@pytest.mark.parametrize("count", [1, 3])
def test_rows_get_their_ids_in_order_as_bulk_create_gives_them(count):
    order = OrderFactory()
    made = [OrderLine(order=order, sku=f"B-{i}", name="x", quantity=i + 1, unit_price=1, paid_amount=1) for i in range(count)]
    expected = OrderLine.objects.bulk_create(
        [OrderLine(order=order, sku=f"A-{i}", name="x", quantity=i + 1, unit_price=1, paid_amount=1) for i in range(count)]
    )
    rows_insert(Rows(OrderLine, made))
    for mine, theirs in zip(made, expected, strict=True):
        assert OrderLine.objects.get(pk=mine.pk).quantity == theirs.quantity
        assert stored(OrderLine, mine.pk) | {"id": 0, "sku": ""} == stored(OrderLine, theirs.pk) | {"id": 0, "sku": ""}


def test_the_statement_and_values_are_the_compilers_own_and_composed_once():
    order = OrderFactory()
    first = [OrderLine(order=order, sku="C", name="x", quantity=1, unit_price=1, paid_amount=1)]
    rows_insert(Rows(OrderLine, first))
    composed = inserts._composed[(connection.alias, OrderLine, 1, True)]
    second = OrderLine(order=order, sku="D", name="y", quantity=2, unit_price=Decimal("2.50"), paid_amount=5)
    query = InsertQuery(OrderLine)
    query.insert_values(list(composed.fields), [second])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [OrderLine._meta.pk]
    ((sql, params),) = compiler.as_sql()
    assert composed.sql == sql
    assert inserts._values(composed, Rows(OrderLine, [second]), connection) == params
    rows_insert(Rows(OrderLine, [second]))
    assert inserts._composed[(connection.alias, OrderLine, 1, True)] is composed


def test_refuses_an_expression_and_a_mix_of_ids():
    order = OrderFactory()
    with pytest.raises(TypeError, match="expression"):
        rows_insert(Rows(OrderLine, [OrderLine(order=order, sku="E", name="x", quantity=F("quantity"))]))
    with_pk = OrderLine(pk=next_ticket_id(), order=order, sku="F", name="x", quantity=1, unit_price=1, paid_amount=1)
    without = OrderLine(order=order, sku="G", name="x", quantity=1, unit_price=1, paid_amount=1)
    with pytest.raises(TypeError, match="either every row"):
        rows_insert(Rows(OrderLine, [with_pk, without]))
    assert not OrderLine.objects.filter(sku__in=["E", "F", "G"]).exists()


def test_an_error_in_one_table_writes_none_of_them():
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="H")
    ticket = new_return(order, "RT-DUP")
    ticket.save()
    again = new_return(order, "RT-DUP")  # the number is unique
    again.id = again.pk = next_ticket_id()
    lines = [TicketLine(ticket_id=again.pk, order_line=line, quantity=1)]
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017,PT011 - IntegrityError, by backend
        rows_insert(Rows(Ticket, [again]), Rows(ReturnTicket, [again]), Rows(TicketLine, lines))
    assert not TicketLine.objects.filter(ticket_id=again.pk).exists()
    assert not ReturnTicket.objects.filter(pk=again.pk).exists()
