"""kefu.core.prepared: a queryset composed once and run with new values gives what the queryset itself gives."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from kefu.core.prepared import PreparedQuery
from orders.models import OrderLine
from tests.factories.orders import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_objects_equal_the_querysets_and_the_statement_is_composed_once():
    built = []

    def build(order_id):
        built.append(order_id)
        return OrderLine.objects.filter(order_id=order_id).order_by("pk").annotate(doubled=F("quantity") * 2)

    lines = PreparedQuery(build, order_id=-7_000_001)
    first, second = OrderFactory(), OrderFactory()
    for order, skus in ((first, ["A", "B"]), (second, ["C"])):
        for i, sku in enumerate(skus):
            OrderLineFactory(order=order, sku=sku, quantity=i + 1)
    for order in (first, second, first):
        got = lines.objects(order_id=order.pk)
        expected = list(build(order.pk))
        assert [(line.pk, line.sku, line.doubled) for line in got] == [
            (line.pk, line.sku, line.doubled) for line in expected
        ]
    assert [(line.sku, line.doubled) for line in lines.objects(order_id=first.pk)] == [("A", 2), ("B", 4)]
    assert built.count(-7_000_001) == 1  # composed once, then only run


def test_a_locking_statement_runs_as_composed():
    order = OrderFactory()
    OrderLineFactory(order=order, sku="A", quantity=3)
    locked = PreparedQuery(
        lambda order_id: OrderLine.objects.select_for_update().filter(order_id=order_id).order_by("pk"),
        order_id=-7_000_002,
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        (line,) = locked.objects(order_id=order.pk)
    assert (line.sku, line.quantity) == ("A", 3)
    statement = next(q["sql"] for q in queries if "orders_orderline" in q["sql"])
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in statement


def test_rows_of_a_values_list():
    order = OrderFactory()
    line = OrderLineFactory(order=order, sku="A", quantity=5)
    quantity = PreparedQuery(lambda pk: OrderLine.objects.filter(pk=pk).values_list("quantity"), pk=-7_000_003)
    assert quantity.rows(pk=line.pk) == [(5,)]
    assert quantity.rows(pk=line.pk + 1000) == []


def test_a_stand_in_must_be_a_value_of_its_own():
    twice = PreparedQuery(lambda n: OrderLine.objects.filter(quantity=n, order_id=n), n=7_000_004)
    with pytest.raises(ValueError, match="appears 2 times"):
        twice.rows(n=1)
    absent = PreparedQuery(lambda n: OrderLine.objects.all(), n=-7_000_005)
    with pytest.raises(ValueError, match="appears 0 times"):
        absent.rows(n=1)
    one = PreparedQuery(lambda pk: OrderLine.objects.filter(pk=pk).values_list("sku"), pk=-7_000_006)
    with pytest.raises(TypeError, match="Expected values for"):
        one.rows(id=1)
    negative = PreparedQuery(lambda n: OrderLine.objects.filter(quantity=n), n=-1)  # quantity is positive
    with pytest.raises(ValueError, match="not a value its field accepts"):
        negative.rows(n=1)


def test_composing_inside_a_transaction_sends_nothing_but_the_statement():
    """Composed lazily, at the first run, maybe inside a request's transaction: no savepoint or other statement."""
    line = OrderLineFactory(quantity=2)
    quantity = PreparedQuery(
        lambda pk: OrderLine.objects.select_for_update().filter(pk=pk).values_list("quantity"), pk=-7_000_007
    )
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert quantity.rows(pk=line.pk) == [(2,)]
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_instances_carry_their_select_related_objects_like_the_queryset():
    """``instances`` builds what iterating the queryset builds: the main model, its joined objects (no query when
    they are read), converted values and annotations. Pins the Django internals kefu.core.prepared relies on."""
    from django.db.models import Value

    def build(order_id):
        return (
            OrderLine.objects.select_related("order", "order__buyer")
            .filter(order_id=order_id)
            .order_by("pk")
            .annotate(tag=Value("x"))
        )

    lines = PreparedQuery(build, order_id=-7_000_003)
    order = OrderFactory()
    for sku in ("A", "B"):
        OrderLineFactory(order=order, sku=sku, quantity=2)
    got = lines.instances(order_id=order.pk)
    expected = list(build(order.pk))
    with CaptureQueriesContext(connection) as queries:
        seen = [
            (line.pk, line.sku, line.unit_price, line.tag, line.order.number, line.order.paid_at, line.order.buyer.pk)
            for line in got
        ]
    assert len(queries) == 0  # the joined objects came with the rows
    assert seen == [
        (line.pk, line.sku, line.unit_price, line.tag, line.order.number, line.order.paid_at, line.order.buyer.pk)
        for line in expected
    ]
    assert all(line._state.adding is False and line._state.db == "default" for line in got)
    assert lines.instances(order_id=order.pk + 1000) == []
