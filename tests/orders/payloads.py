"""Storefront order payloads and row counts for the order sync tests (tests/orders/test_services.py,
test_upsert_validation.py, test_upsert_concurrency.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders.models import (
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
)
from orders.types import BuyerData, LineData, OrderData, ShipmentData

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
