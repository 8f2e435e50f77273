"""kefu.core.writes: rows written and changed with statements composed once are the rows Django's own save,
save(update_fields=…) and bulk_create write, in one statement on PostgreSQL (on SQLite, one per table)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import F, Q
from django.db.models.sql import InsertQuery, UpdateQuery
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.core import writes
from kefu.core.writes import Changed, NewRows, rows_write
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
        rows_write(
            NewRows(Ticket, [written]),
            NewRows(ReturnTicket, [written]),
            NewRows(TicketLine, lines),
            NewRows(TicketEvent, [event]),
        )
    assert len(queries) == (1 if connection.vendor == "postgresql" else 4)
    ignore = {"id", "ticket_ptr_id", "number"}
    a, b = stored(ReturnTicket, saved.pk), stored(ReturnTicket, written.pk)
    assert {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}
    assert b["number"] == "RT-WRITTEN"
    # The ids the database chose are set on the objects, which now count as saved.
    assert lines[0].pk == TicketLine.objects.get(ticket_id=written.pk).pk
    assert TicketEvent.objects.get(pk=event.pk).payload == {"a": [1]}
    assert not written._state.adding and not event._state.adding


def test_the_values_that_are_null_are_written_null_in_the_statement_not_sent():
    """psycopg parses again, on every call, a statement of more than 50 parameters; an opening's has 45 once its
    NULLs are in the SQL (its ticket's assignee, closing time, … and its event's actor user and step)."""
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="A", quantity=3)
    ticket = new_return(order, "RT-NULLS")
    ticket.id = ticket.pk = next_ticket_id()
    event = TicketEvent(ticket_id=ticket.pk, event_type="created", created_at=timezone.now(), payload={})
    sent = []

    def record(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(record):
        rows_write(
            NewRows(Ticket, [ticket]),
            NewRows(ReturnTicket, [ticket]),
            NewRows(TicketLine, [TicketLine(ticket_id=ticket.pk, order_line=line, quantity=1)]),
            NewRows(TicketEvent, [event]),
        )
    assert all(None not in params for _sql, params in sent)
    assert all("NULL" in sql for sql, _params in sent if "tickets_ticketline" not in sql)
    if connection.vendor == "postgresql":
        ((_sql, params),) = sent
        assert len(params) <= 50
    stored_row = stored(ReturnTicket, ticket.pk)
    assert stored_row["assignee_id"] is None and stored_row["closed_at"] is None
    assert stored_row["approved_amount"] is None
    assert TicketEvent.objects.get(pk=event.pk).actor_user_id is None


@pytest.mark.parametrize("count", [1, 3])
def test_rows_get_their_ids_in_order_as_bulk_create_gives_them(count):
    order = OrderFactory()
    made = [
        OrderLine(order=order, sku=f"B-{i}", name="x", quantity=i + 1, unit_price=1, paid_amount=1)
        for i in range(count)
    ]
    expected = OrderLine.objects.bulk_create(
        [
            OrderLine(order=order, sku=f"A-{i}", name="x", quantity=i + 1, unit_price=1, paid_amount=1)
            for i in range(count)
        ]
    )
    rows_write(NewRows(OrderLine, made))
    for mine, theirs in zip(made, expected, strict=True):
        assert OrderLine.objects.get(pk=mine.pk).quantity == theirs.quantity
        assert stored(OrderLine, mine.pk) | {"id": 0, "sku": ""} == stored(OrderLine, theirs.pk) | {"id": 0, "sku": ""}


def test_the_statement_and_values_are_the_compilers_own_and_composed_once():
    order = OrderFactory()
    first = [OrderLine(order=order, sku="C", name="x", quantity=1, unit_price=1, paid_amount=1)]
    rows_write(NewRows(OrderLine, first))
    composed = writes._composed[(connection.alias, OrderLine, 1, True)]
    second = OrderLine(order=order, sku="D", name="y", quantity=2, unit_price=Decimal("2.50"), paid_amount=5)
    query = InsertQuery(OrderLine)
    query.insert_values(list(composed.fields), [second])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [OrderLine._meta.pk]
    ((sql, params),) = compiler.as_sql()
    assert composed.sql == sql
    assert writes._values(composed, NewRows(OrderLine, [second]), connection) == params
    rows_write(NewRows(OrderLine, [second]))
    assert writes._composed[(connection.alias, OrderLine, 1, True)] is composed


def test_refuses_an_expression_and_a_mix_of_ids():
    order = OrderFactory()
    with pytest.raises(TypeError, match="expression"):
        rows_write(NewRows(OrderLine, [OrderLine(order=order, sku="E", name="x", quantity=F("quantity"))]))
    with_pk = OrderLine(pk=next_ticket_id(), order=order, sku="F", name="x", quantity=1, unit_price=1, paid_amount=1)
    without = OrderLine(order=order, sku="G", name="x", quantity=1, unit_price=1, paid_amount=1)
    with pytest.raises(TypeError, match="either every new row"):
        rows_write(NewRows(OrderLine, [with_pk, without]))
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
        rows_write(NewRows(Ticket, [again]), NewRows(ReturnTicket, [again]), NewRows(TicketLine, lines))
    assert not TicketLine.objects.filter(ticket_id=again.pk).exists()
    assert not ReturnTicket.objects.filter(pk=again.pk).exists()


def test_a_change_is_the_update_save_with_update_fields_writes_and_says_whether_the_row_matched():
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="J", quantity=3, name="old")
    twin = OrderLineFactory(order=order, sku="K", quantity=3, name="old")
    line.quantity, line.name = 5, "new"
    twin.quantity, twin.name = 5, "new"
    twin.save(update_fields=["quantity", "name"])
    assert rows_write(Changed(OrderLine, line, ["quantity", "name"], expected={"sku": "J"})) == [1]
    assert stored(OrderLine, line.pk) | {"id": 0, "sku": ""} == stored(OrderLine, twin.pk) | {"id": 0, "sku": ""}
    # The statement is the compiler's own (as QuerySet.filter(pk=…, sku=…).update(…) writes it), values in place.
    composed = writes._composed[(connection.alias, OrderLine, ("quantity", "name"), (False, False), ("sku",))]
    query = UpdateQuery(OrderLine)
    fields = [OrderLine._meta.get_field("quantity"), OrderLine._meta.get_field("name")]
    query.add_update_fields([(f, None, getattr(line, f.attname)) for f in fields])
    query.add_q(Q(pk=line.pk, sku="J"))
    sql, params = query.get_compiler(connection=connection).as_sql()
    assert composed.sql == f"{sql} RETURNING 1"
    assert writes._values(composed, Changed(OrderLine, line, ["quantity", "name"], {"sku": "J"}), connection) == params
    # Where the expected column no longer holds the value, nothing is written and the count says so.
    line.quantity = 9
    assert rows_write(Changed(OrderLine, line, ["quantity"], expected={"sku": "not-J"})) == [0]
    assert OrderLine.objects.get(pk=line.pk).quantity == 5


def test_a_change_to_null_and_a_new_row_in_one_write():
    order = OrderFactory()
    ticket = new_return(order, "RT-NULL")
    ticket.approved_amount = Decimal("1.00")
    ticket.save()
    ticket.approved_amount, ticket.priority = None, 30
    event = TicketEvent(ticket_id=ticket.pk, event_type="transition", created_at=timezone.now(), payload={})
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        counts = rows_write(
            Changed(Ticket, ticket, ["priority"], expected={"state": "requested"}),
            Changed(ReturnTicket, ticket, ["approved_amount"]),
            NewRows(TicketEvent, [event]),
        )
    assert counts == [1, 1, 1]
    assert len(queries) == (1 if connection.vendor == "postgresql" else 3)
    reread = ReturnTicket.objects.get(pk=ticket.pk)
    assert (reread.priority, reread.approved_amount, reread.requested_amount) == (30, None, Decimal("12.30"))
    assert TicketEvent.objects.filter(pk=event.pk, ticket_id=ticket.pk).exists()
