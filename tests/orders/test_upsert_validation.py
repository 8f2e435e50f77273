"""A storefront's order payload that is invalid is refused naming the field, and nothing is written."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from kefu.core.errors import ValidationFailed
from orders.models import (
    Buyer,
    OrderLine,
)
from orders.services import order_upsert
from orders.types import BuyerData, LineData, ShipmentData
from tests.factories.orders import ShopFactory
from tests.orders.payloads import PAID_AT, line, payload, row_counts, with_line

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
