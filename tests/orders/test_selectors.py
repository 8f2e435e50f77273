"""Order reads: the right orders, and the same few queries whatever their number."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from kefu.core.errors import NotFound
from orders.models import Order, OrderStatus
from orders.selectors import order_get, order_list, shipment_get_by_tracking
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShipmentFactory, ShopFactory


def _order_with_lines_and_shipment(**kwargs: Any) -> Order:
    order = OrderFactory(**kwargs)
    OrderLineFactory.create_batch(2, order=order)
    ShipmentFactory(order=order)
    return order


def _touch(order: Order) -> tuple[str, str, list[str], list[str]]:
    """Everything an API order representation reads."""
    return (
        order.shop.name,
        order.buyer.name,
        [line.sku for line in order.lines.all()],
        [shipment.tracking_number for shipment in order.shipments.all()],
    )


@pytest.mark.django_db
def test_order_get_returns_the_order_with_lines_shipments_and_buyer_in_three_queries(
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    order = _order_with_lines_and_shipment()

    with django_assert_num_queries(3):
        found = order_get(shop=order.shop, number=order.number)
        touched = _touch(found)

    assert found.pk == order.pk
    assert len(touched[2]) == 2 and len(touched[3]) == 1


@pytest.mark.django_db
def test_another_shops_order_is_not_found() -> None:
    order = OrderFactory()

    with pytest.raises(NotFound) as refused:
        order_get(shop=ShopFactory(), number=order.number)

    assert refused.value.code == "order_not_found"
    assert refused.value.http_status == 404


@pytest.mark.django_db
@pytest.mark.parametrize("count", [2, 6])
def test_order_list_costs_three_queries_whatever_the_number_of_orders(
    count: int,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    shop = ShopFactory()
    for _ in range(count):
        _order_with_lines_and_shipment(shop=shop)

    with django_assert_num_queries(3):
        orders = [_touch(order) for order in order_list(shop=shop)]

    assert len(orders) == count


@pytest.mark.django_db
def test_order_list_is_the_shops_orders_newest_payment_first_and_filters() -> None:
    shop = ShopFactory()
    now = timezone.now()
    buyer = BuyerFactory(shop=shop)
    old = OrderFactory(shop=shop, buyer=buyer, paid_at=now - timedelta(days=10))
    recent = OrderFactory(shop=shop, paid_at=now - timedelta(days=1), undelivered=True)
    OrderFactory()  # another shop's

    assert list(order_list(shop=shop)) == [recent, old]
    assert list(order_list(shop=shop, buyer=buyer)) == [old]
    assert list(order_list(shop=shop, status=OrderStatus.PAID)) == [recent]
    assert list(order_list(shop=shop, number=old.number)) == [old]
    assert list(order_list(shop=shop, paid_from=now - timedelta(days=2))) == [recent]
    assert list(order_list(shop=shop, paid_to=recent.paid_at)) == [old]


@pytest.mark.django_db
def test_shipment_get_by_tracking_finds_the_shipment_and_refuses_unknown_numbers() -> None:
    shipment = ShipmentFactory(carrier="YTO", tracking_number="YT123")

    assert shipment_get_by_tracking(carrier="YTO", tracking_number=" YT123 ") == shipment
    with pytest.raises(NotFound) as refused:
        shipment_get_by_tracking(carrier="SF", tracking_number="YT123")
    assert refused.value.code == "shipment_not_found"
