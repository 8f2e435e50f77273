"""The storefront's order sync (orders.services.order_upsert): creating, re-syncing and changing an order, and
what tickets and refunds forbid. Refused payloads: test_upsert_validation.py; races: test_upsert_concurrency.py."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.core.errors import Conflict
from orders.models import (
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    ShipmentDirection,
    ShipmentStatus,
)
from orders.services import order_upsert
from orders.shipments import shipment_record_event
from orders.types import BuyerData
from tests.factories.orders import ShipmentFactory, ShopFactory
from tests.orders.payloads import PAID_AT, line, payload, row_counts, ticket_line_for, with_line, writes

# -- order_upsert: creating, re-syncing, changing ---------------------------------------------------------


@pytest.mark.django_db
def test_first_sync_creates_the_order_its_buyer_lines_and_shipment() -> None:
    shop = ShopFactory()

    result = order_upsert(shop=shop, data=payload())

    assert (result.created, result.changed) == (True, True)
    order = Order.objects.get(shop=shop, number="TB20261111000001")
    assert result.order == order
    assert order.status == OrderStatus.SHIPPED
    assert order.paid_at == PAID_AT
    assert order.buyer.external_id == "tb-buyer-1" and order.buyer.name == "张三"
    assert [(li.sku, li.quantity, li.unit_price, li.paid_amount) for li in order.lines.order_by("sku")] == [
        ("SKU-A", 2, Decimal("50.00"), Decimal("90.00")),
        ("SKU-B", 1, Decimal("199.00"), Decimal("189.00")),
    ]
    shipment = order.shipments.get()
    assert (shipment.carrier, shipment.tracking_number, shipment.direction, shipment.status) == (
        "SF",
        "SF1000000001",
        ShipmentDirection.OUTBOUND,
        ShipmentStatus.IN_TRANSIT,
    )


@pytest.mark.django_db
def test_syncing_the_same_payload_twice_is_one_unchanged_order_and_writes_nothing() -> None:
    shop = ShopFactory()
    first = order_upsert(shop=shop, data=payload())
    updated_at = Order.objects.get().updated_at

    with CaptureQueriesContext(connection) as queries:
        second = order_upsert(shop=shop, data=payload())

    assert (second.created, second.changed) == (False, False)
    assert second.order.pk == first.order.pk
    assert row_counts() == {"orders": 1, "buyers": 1, "lines": 2, "shipments": 1}
    assert writes(queries) == []
    assert Order.objects.get().updated_at == updated_at


@pytest.mark.django_db
def test_text_is_stripped_so_padded_values_are_the_same_order() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    padded = with_line(dataclasses.replace(payload(), number=" TB20261111000001 "), 0, sku=" SKU-A ")
    result = order_upsert(shop=shop, data=padded)

    assert (result.created, result.changed) == (False, False)
    assert row_counts()["orders"] == 1


@pytest.mark.django_db
def test_changing_a_lines_quantity_and_paid_amount_updates_that_line_in_place() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    line_a = OrderLine.objects.get(sku="SKU-A")

    result = order_upsert(shop=shop, data=with_line(payload(), 0, quantity=3, paid_amount=Decimal("140.50")))

    assert (result.created, result.changed) == (False, True)
    line_a.refresh_from_db()  # the same row: tickets referring to it keep referring to it
    assert (line_a.quantity, line_a.paid_amount) == (3, Decimal("140.50"))
    assert OrderLine.objects.get(sku="SKU-B").paid_amount == Decimal("189.00")
    assert row_counts()["lines"] == 2


@pytest.mark.django_db
def test_a_line_change_touches_the_orders_updated_at() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    before = Order.objects.get().updated_at

    order_upsert(shop=shop, data=with_line(payload(), 1, name="商品 B (新包装)"))

    assert Order.objects.get().updated_at > before


@pytest.mark.django_db
def test_lines_added_to_the_payload_are_created_and_lines_left_out_are_deleted() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    new_lines = (payload().lines[1], line("SKU-C", quantity=1, unit_price=Decimal("9.90"), paid_amount=Decimal("9.90")))
    result = order_upsert(shop=shop, data=dataclasses.replace(payload(), lines=new_lines))

    assert result.changed
    assert sorted(result.order.lines.values_list("sku", flat=True)) == ["SKU-B", "SKU-C"]
    assert row_counts()["lines"] == 2


@pytest.mark.django_db
def test_order_fields_follow_the_storefront() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload(status=OrderStatus.PAID, shipments=()))

    delivered_at = PAID_AT + timedelta(days=2)
    result = order_upsert(shop=shop, data=payload(status=OrderStatus.DELIVERED, delivered_at=delivered_at))

    order = Order.objects.get()
    assert result.changed
    assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, delivered_at)
    assert order.shipments.count() == 1


@pytest.mark.django_db
def test_an_order_may_be_cancelled_by_a_later_sync() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    order_upsert(shop=shop, data=payload(status=OrderStatus.CANCELLED))

    assert Order.objects.get().status == OrderStatus.CANCELLED


@pytest.mark.django_db
def test_a_stale_sync_does_not_undo_a_delivery_the_carrier_reported() -> None:
    shop = ShopFactory()
    order = order_upsert(shop=shop, data=payload()).order
    delivered_at = PAID_AT + timedelta(days=2)
    shipment_record_event(
        shipment=order.shipments.get(), event_id="ev-9", occurred_at=delivered_at, status=ShipmentStatus.DELIVERED
    )

    # The storefront has not heard of the delivery yet and sends what it sent before.
    result = order_upsert(shop=shop, data=payload())

    assert result.changed is False
    order.refresh_from_db()
    assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, delivered_at)
    assert order.shipments.get().status == ShipmentStatus.DELIVERED


@pytest.mark.django_db
def test_a_buyer_resync_updates_their_details_and_keeps_one_buyer() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    new_details = BuyerData(external_id="tb-buyer-1", name="张三丰", phone="13900000000", tier="vip")
    result = order_upsert(shop=shop, data=payload(buyer=new_details))

    assert (result.created, result.changed) == (False, True)
    buyer = Buyer.objects.get()
    assert (buyer.name, buyer.phone, buyer.email, buyer.tier) == ("张三丰", "13900000000", "", "vip")


@pytest.mark.django_db
def test_two_orders_of_one_buyer_share_the_buyer_but_not_across_shops() -> None:
    shop, other_shop = ShopFactory(), ShopFactory()
    first = order_upsert(shop=shop, data=payload()).order
    second = order_upsert(shop=shop, data=payload(number="TB2", shipments=())).order
    elsewhere = order_upsert(shop=other_shop, data=payload(shipments=())).order

    assert first.buyer_id == second.buyer_id
    assert elsewhere.buyer_id != first.buyer_id
    assert Buyer.objects.count() == 2
    # The same order number in another shop is another order.
    assert Order.objects.filter(number="TB20261111000001").count() == 2


@pytest.mark.django_db
def test_an_order_without_tickets_may_move_to_another_buyer() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    order_upsert(shop=shop, data=payload(buyer=BuyerData(external_id="tb-buyer-2")))

    assert Order.objects.get().buyer.external_id == "tb-buyer-2"


@pytest.mark.django_db
def test_an_order_with_tickets_keeps_its_buyer() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    ticket_line_for(OrderLine.objects.get(sku="SKU-A"))

    with pytest.raises(Conflict) as refused:
        order_upsert(shop=shop, data=payload(buyer=BuyerData(external_id="tb-buyer-2")))

    assert (refused.value.code, refused.value.field) == ("order_buyer_changed", "buyer.external_id")
    assert Order.objects.get().buyer.external_id == "tb-buyer-1"
    assert not Buyer.objects.filter(external_id="tb-buyer-2").exists()


# -- order_upsert: what tickets and refunds forbid -------------------------------------------------------


@pytest.mark.django_db
def test_a_sync_dropping_a_line_a_ticket_refers_to_is_refused_and_nothing_changes() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    ticket_line_for(OrderLine.objects.get(sku="SKU-A"))

    # Drops SKU-A, changes SKU-B and the buyer: none of it may happen.
    changed_b = dataclasses.replace(payload().lines[1], paid_amount=Decimal("100.00"))
    with pytest.raises(Conflict) as refused:
        order_upsert(
            shop=shop,
            data=payload(lines=(changed_b,), buyer=BuyerData(external_id="tb-buyer-1", name="新名字")),
        )

    assert (refused.value.code, refused.value.field, refused.value.http_status) == ("line_referenced", "lines", 409)
    assert "SKU-A" in refused.value.message
    assert sorted(OrderLine.objects.values_list("sku", "paid_amount")) == [
        ("SKU-A", Decimal("90.00")),
        ("SKU-B", Decimal("189.00")),
    ]
    assert Buyer.objects.get().name == "张三"


@pytest.mark.django_db
def test_a_line_a_ticket_refers_to_may_still_change() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    ticket_line_for(OrderLine.objects.get(sku="SKU-A"))

    result = order_upsert(shop=shop, data=with_line(payload(), 0, name="改名商品"))

    assert result.changed
    assert OrderLine.objects.get(sku="SKU-A").name == "改名商品"


@pytest.mark.django_db
def test_lowering_paid_amount_below_what_was_refunded_is_refused() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())
    OrderLine.objects.filter(sku="SKU-B").update(refunded_amount=Decimal("100.00"))

    with pytest.raises(Conflict) as refused:
        order_upsert(shop=shop, data=with_line(payload(), 1, paid_amount=Decimal("99.99")))

    assert (refused.value.code, refused.value.field) == ("paid_below_refunded", "lines[1].paid_amount")
    assert OrderLine.objects.get(sku="SKU-B").paid_amount == Decimal("189.00")

    # Down to exactly what was refunded is fine.
    order_upsert(shop=shop, data=with_line(payload(), 1, paid_amount=Decimal("100.00")))
    assert OrderLine.objects.get(sku="SKU-B").paid_amount == Decimal("100.00")


@pytest.mark.django_db
def test_a_tracking_number_of_another_order_is_refused_and_the_new_order_is_not_created() -> None:
    shop = ShopFactory()
    ShipmentFactory(carrier="SF", tracking_number="SF1000000001")
    before = row_counts()

    with pytest.raises(Conflict) as refused:
        order_upsert(shop=shop, data=payload())

    assert (refused.value.code, refused.value.field) == ("tracking_number_in_use", "shipments[0].tracking_number")
    assert row_counts() == before
