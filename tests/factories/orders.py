"""Factories for shops, buyers, orders, lines and shipments.

Rows are built directly (not through ``order_upsert``) so a test can set up any stored state, including
ones a sync would refuse; tests of the sync itself call the service.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import (
    Buyer,
    Channel,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentDirection,
    ShipmentStatus,
    Shop,
)


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"Shop {n}")
    channel = Channel.TMALL


class BuyerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buyer

    shop = factory.SubFactory(ShopFactory)
    external_id = factory.Sequence(lambda n: f"buyer-{n}")
    name = factory.Sequence(lambda n: f"买家{n}")
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class OrderFactory(factory.django.DjangoModelFactory):
    """A delivered order (two days ago), so it is inside the default return window."""

    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    buyer = factory.SubFactory(BuyerFactory, shop=factory.SelfAttribute("..shop"))
    number = factory.Sequence(lambda n: f"NO{n:010d}")
    status = OrderStatus.DELIVERED
    paid_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=5))
    delivered_at = factory.LazyAttribute(lambda o: o.paid_at + timedelta(days=3))

    class Params:
        undelivered = factory.Trait(status=OrderStatus.PAID, delivered_at=None)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"商品 {n}")
    quantity = 1
    unit_price = Decimal("99.00")
    paid_amount = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    order = factory.SubFactory(OrderFactory)
    direction = ShipmentDirection.OUTBOUND
    carrier = "SF"
    tracking_number = factory.Sequence(lambda n: f"SF{n:012d}")
    status = ShipmentStatus.IN_TRANSIT
    shipped_at = factory.LazyAttribute(lambda o: o.order.paid_at + timedelta(hours=6))
