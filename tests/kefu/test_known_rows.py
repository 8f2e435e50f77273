"""kefu.core.known_rows: rows kept on an object read back like prefetched ones, with no query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.core.known_rows import rows_known, rows_known_of
from orders.models import Order, OrderLine
from tests.factories.orders import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_kept_rows_are_what_the_relation_answers_without_a_query():
    order = OrderFactory()
    lines = [OrderLineFactory(order=order, sku=sku) for sku in ("A", "B")]
    fresh = Order.objects.get(pk=order.pk)
    assert rows_known_of(fresh, "lines") is None
    rows_known(fresh, "lines", lines)
    with CaptureQueriesContext(connection) as queries:
        assert list(fresh.lines.all()) == lines
        assert rows_known_of(fresh, "lines") == lines
    assert len(queries) == 0


def test_prefetch_related_rows_are_known_too():
    order = OrderFactory()
    OrderLineFactory(order=order, sku="A")
    fetched = Order.objects.prefetch_related("lines").get(pk=order.pk)
    assert [line.sku for line in rows_known_of(fetched, "lines")] == ["A"]
    assert isinstance(rows_known_of(fetched, "lines")[0], OrderLine)
