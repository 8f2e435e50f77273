"""The storefront's order sync and the shipment services, as the storefront and the tracking feed see them."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kefu.errors import Conflict, ValidationFailed
from orders.models import (
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentDirection,
    ShipmentStatus,
)
from orders.services import order_upsert, shipment_record_event
from orders.types import BuyerData, LineData, OrderData, ShipmentData
from tests.factories.orders import ShipmentFactory, ShopFactory
from tests.markers import requires_postgres
from tests.orders.concurrency import run_at_once

PAID_AT = datetime(2026, 11, 11, 0, 5, tzinfo=timezone.get_fixed_timezone(8 * 60))


def line(sku: str = "SKU-A", **overrides: Any) -> LineData:
    values: dict[str, Any] = {
        "sku": sku,
        "name": f"商品 {sku}",
        "quantity": 2,
        "unit_price": Decimal("50.00"),
        "paid_amount": Decimal("90.00"),
    }
    return LineData(**(values | overrides))


def payload(**overrides: Any) -> OrderData:
    values: dict[str, Any] = {
        "number": "TB20261111000001",
        "status": OrderStatus.SHIPPED,
        "paid_at": PAID_AT,
        "buyer": BuyerData(external_id="tb-buyer-1", name="张三", phone="13800000000", email="zs@example.com"),
        "lines": (line("SKU-A"), line("SKU-B", quantity=1, unit_price=Decimal("199.00"), paid_amount=Decimal("189"))),
        "shipments": (
            ShipmentData(
                carrier="SF",
                tracking_number="SF1000000001",
                status="in_transit",
                shipped_at=PAID_AT + timedelta(hours=8),
            ),
        ),
    }
    return OrderData(**(values | overrides))


def with_line(data: OrderData, index: int, **changes: Any) -> OrderData:
    lines = list(data.lines)
    lines[index] = dataclasses.replace(lines[index], **changes)
    return dataclasses.replace(data, lines=tuple(lines))


def row_counts() -> dict[str, int]:
    return {
        "orders": Order.objects.count(),
        "buyers": Buyer.objects.count(),
        "lines": OrderLine.objects.count(),
        "shipments": Shipment.objects.count(),
    }


def writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def ticket_line_for(order_line: OrderLine) -> Any:
    """A ticket concerning ``order_line``, as the ticket engine would store it."""
    from tickets.models import Ticket, TicketLine

    order = order_line.order
    ticket = Ticket.objects.create(
        kind="return",
        state="requested",
        shop=order.shop,
        order=order,
        buyer=order.buyer,
        waiting_on="merchant",
        step_started_at=timezone.now(),
    )
    return TicketLine.objects.create(ticket=ticket, order_line=order_line, quantity=1)


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


# -- order_upsert: validation -----------------------------------------------------------------------------


def _lines(*lines: LineData) -> dict[str, Any]:
    return {"lines": lines}


INVALID_PAYLOADS = {
    "no lines": ({"lines": ()}, "no_lines", "lines"),
    "zero quantity": (_lines(line("A"), line("B", quantity=0)), "invalid_quantity", "lines[1].quantity"),
    "fractional quantity": (_lines(line("A", quantity=1.5)), "invalid_quantity", "lines[0].quantity"),
    "negative price": (_lines(line("A", unit_price=Decimal("-1"))), "invalid_amount", "lines[0].unit_price"),
    "negative paid": (_lines(line("A", paid_amount=Decimal("-0.01"))), "invalid_amount", "lines[0].paid_amount"),
    "three decimals": (
        _lines(line("A"), line("B", paid_amount=Decimal("10.005"))),
        "invalid_amount",
        "lines[1].paid_amount",
    ),
    "float money": (_lines(line("A", unit_price=49.9)), "invalid_amount", "lines[0].unit_price"),
    "not a number": (_lines(line("A", paid_amount=Decimal("NaN"))), "invalid_amount", "lines[0].paid_amount"),
    "too large": (_lines(line("A", unit_price=Decimal("1e10"))), "invalid_amount", "lines[0].unit_price"),
    "paid above price x quantity": (
        _lines(line("A"), line("B", quantity=2, unit_price=Decimal("50"), paid_amount=Decimal("100.01"))),
        "paid_above_price",
        "lines[1].paid_amount",
    ),
    "duplicate sku": (_lines(line("A"), line("B"), line("A")), "duplicate_sku", "lines[2].sku"),
    "blank sku": (_lines(line("  ")), "required", "lines[0].sku"),
    "sku too long": (_lines(line("S" * 65)), "too_long", "lines[0].sku"),
    "delivered before paid": (
        {"delivered_at": PAID_AT - timedelta(minutes=1)},
        "delivered_before_paid",
        "delivered_at",
    ),
    "blank number": ({"number": " "}, "required", "number"),
    "unknown status": ({"status": "lost"}, "invalid_choice", "status"),
    "naive paid_at": ({"paid_at": datetime(2026, 11, 11, 0, 5)}, "invalid_datetime", "paid_at"),
    "buyer without id": ({"buyer": BuyerData(external_id="")}, "required", "buyer.external_id"),
    "buyer email": ({"buyer": BuyerData(external_id="b", email="not-an-email")}, "invalid_email", "buyer.email"),
    "buyer tier": ({"buyer": BuyerData(external_id="b", tier="gold")}, "invalid_choice", "buyer.tier"),
    "shipment without tracking number": (
        {"shipments": (ShipmentData(carrier="SF", tracking_number=""),)},
        "required",
        "shipments[0].tracking_number",
    ),
    "shipment status": (
        {"shipments": (ShipmentData(carrier="SF", tracking_number="1", status="flying"),)},
        "invalid_choice",
        "shipments[0].status",
    ),
    "shipment twice": (
        {
            "shipments": (
                ShipmentData(carrier="SF", tracking_number="1"),
                ShipmentData(carrier="SF", tracking_number="1"),
            )
        },
        "duplicate_shipment",
        "shipments[1].tracking_number",
    ),
    "shipment delivered before shipped": (
        {
            "shipments": (
                ShipmentData(
                    carrier="SF", tracking_number="1", shipped_at=PAID_AT + timedelta(days=1), delivered_at=PAID_AT
                ),
            )
        },
        "delivered_before_shipped",
        "shipments[0].delivered_at",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "code", "field"), INVALID_PAYLOADS.values(), ids=INVALID_PAYLOADS.keys())
def test_an_invalid_payload_is_refused_naming_the_field_and_nothing_is_written(
    overrides: dict[str, Any], code: str, field: str
) -> None:
    shop = ShopFactory()

    with pytest.raises(ValidationFailed) as refused:
        order_upsert(shop=shop, data=payload(**overrides))

    assert (refused.value.code, refused.value.field) == (code, field)
    assert refused.value.http_status == 400
    assert row_counts() == {"orders": 0, "buyers": 0, "lines": 0, "shipments": 0}


@pytest.mark.django_db
def test_an_invalid_resync_leaves_the_stored_order_as_it_was() -> None:
    shop = ShopFactory()
    order_upsert(shop=shop, data=payload())

    bad = with_line(payload(buyer=BuyerData(external_id="tb-buyer-1", name="改名")), 1, quantity=0)
    with pytest.raises(ValidationFailed):
        order_upsert(shop=shop, data=bad)

    assert Buyer.objects.get().name == "张三"
    assert OrderLine.objects.get(sku="SKU-B").quantity == 1


@pytest.mark.django_db
def test_paid_amount_may_equal_price_times_quantity_and_integers_are_money() -> None:
    shop = ShopFactory()
    data = payload(lines=(line("A", quantity=3, unit_price=Decimal("33.33"), paid_amount=Decimal("99.99")),))
    order_upsert(shop=shop, data=data)
    order_upsert(shop=shop, data=payload(number="N2", shipments=(), lines=(line("A", unit_price=5, paid_amount=0),)))

    assert OrderLine.objects.get(order__number="N2").unit_price == Decimal("5.00")


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


# -- order_upsert: concurrency (PostgreSQL) ---------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known_buyer", [False, True], ids=["new buyer", "known buyer"])
def test_four_concurrent_syncs_of_the_same_new_order_create_it_once(known_buyer: bool) -> None:
    shop = ShopFactory()
    if known_buyer:
        # Then nothing but the order's own unique constraint stands between the four inserts.
        order_upsert(shop=shop, data=payload(number="TB-EARLIER", shipments=()))
    before = row_counts()

    results = run_at_once(4, lambda _: order_upsert(shop=shop, data=payload()))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.order.pk for r in results}) == 1
    after = row_counts()
    assert {name: after[name] - before[name] for name in after} == {
        "orders": 1,
        "buyers": 0 if known_buyer else 1,
        "lines": 2,
        "shipments": 1,
    }


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_different_orders_of_a_new_buyer_create_the_buyer_once() -> None:
    shop = ShopFactory()

    results = run_at_once(4, lambda i: order_upsert(shop=shop, data=payload(number=f"TB-{i}", shipments=())))

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r.created for r in results)
    assert row_counts() == {"orders": 4, "buyers": 1, "lines": 8, "shipments": 0}
