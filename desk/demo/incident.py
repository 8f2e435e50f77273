"""The demo's stuck parcels: orders of the official shop shipped by one carrier (ZTO) from the Hangzhou warehouse to
Hubei, all still in transit, so that a supervisor can declare a carrier delay for them (docs/incidents.md):

    kind 物流延误 · carrier ZTO · tracking status 运输中 · destination region 湖北省  →  500 orders

``KEFU_DEMO_INCIDENT_ORDERS`` sets how many (500 by default; the test suite makes a small set, tests/conftest.py).
Their destinations are cities of Hubei (``湖北省/武汉市``, …): the region filter matches a prefix. No other demo
order goes to Hubei, so the scope matches exactly these.

With them, the shop's coupon pool gets one ¥10 code per order (``coupon_import``), so that a buyer who accepts to
wait is paid the compensation at once.

Made in bulk (a few ``bulk_create`` for buyers, orders, lines, shipments and their last scan): these are synced
orders, as the marketplace's import would write them, with nothing of the ticket engine behind them yet, and
500 of them through ``order_upsert`` one by one would make ``seed_demo`` slow. Idempotent: the orders are found
by their numbers (``INCIDENT_ORDER_PREFIX``); a re-run adds only the missing ones (none, usually).
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from desk.demo.setup import CATALOG
from orders.models import (
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentDirection,
    ShipmentStatus,
    Shop,
    TrackingEvent,
)
from payments.services.coupons import coupon_import

INCIDENT_ORDERS = 500
INCIDENT_SHOP = "demo-own"
INCIDENT_CARRIER = "ZTO"
INCIDENT_ORIGIN = "浙江省/杭州市"
INCIDENT_REGION = "湖北省"
INCIDENT_CITIES = ("武汉市", "宜昌市", "襄阳市", "荆州市", "黄石市", "十堰市")
INCIDENT_ORDER_PREFIX = "OWHB"
INCIDENT_BUYER_PREFIX = "hubei-"
INCIDENT_HUB = "武汉转运中心"
# The official shop's coupon pool, from which a buyer who accepts to wait is paid the incident's compensation
# (KEFU_INCIDENT_COMPENSATION_METHOD "coupon"): ¥10 codes, enough for a compensation up to ¥10 for each order.
COUPON_PREFIX = "OWHB-CPN-"
COUPON_VALUE = Decimal("10.00")
# One or two items each, from the catalogue.
INCIDENT_BASKETS = (("KETTLE-17",), ("PILLOW-MF", "MUG-BLUE"), ("RICE-COOKER",), ("TEE-WHT-M",), ("LAMP-LED",))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟 芳 娜 敏 静 丽 强 磊 洋 艳 勇 杰 娟 涛 明 超 秀英 晨 婷".split()


def incident_orders_wanted() -> int:
    """How many stuck orders the demo has (``KEFU_DEMO_INCIDENT_ORDERS``, default 500)."""
    return int(os.environ.get("KEFU_DEMO_INCIDENT_ORDERS") or INCIDENT_ORDERS)


def incident_order_number(index: int) -> str:
    return f"{INCIDENT_ORDER_PREFIX}{index:06d}"


@transaction.atomic
def incident_orders_seed(count: int | None = None) -> int:
    """Make sure the demo's official shop has ``count`` orders stuck with ZTO on their way to Hubei; returns how
    many were added. The shop must exist (``Demo.build`` makes it)."""
    count = incident_orders_wanted() if count is None else count
    shop = Shop.objects.get(code=INCIDENT_SHOP)
    wanted = {incident_order_number(i): i for i in range(1, count + 1)}
    # The pool first (coupon_import skips codes already there): one code per stuck order.
    coupon_import(shop=shop, text="\n".join(f"{COUPON_PREFIX}{i:06d}" for i in wanted.values()), value=COUPON_VALUE)
    existing = set(Order.objects.filter(shop=shop, number__in=list(wanted)).values_list("number", flat=True))
    missing = [i for number, i in wanted.items() if number not in existing]
    if not missing:
        return 0
    now = timezone.now()
    made_buyers = Buyer.objects.bulk_create(
        [
            Buyer(
                shop=shop,
                external_id=f"{INCIDENT_BUYER_PREFIX}{i:06d}",
                name=SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)],
                phone=f"137{i:08d}",
            )
            for i in missing
        ]
    )
    buyers = _with_pks(Buyer, made_buyers, shop=shop, key="external_id")
    shipped = {i: now - timedelta(days=3, hours=i % 48) for i in missing}
    made = Order.objects.bulk_create(
        [
            Order(
                shop=shop,
                buyer=buyers[f"{INCIDENT_BUYER_PREFIX}{i:06d}"],
                number=incident_order_number(i),
                status=OrderStatus.SHIPPED,
                paid_at=shipped[i] - timedelta(hours=6),
            )
            for i in missing
        ]
    )
    orders = _with_pks(Order, made, shop=shop, key="number")
    lines = []
    for i in missing:
        for sku in INCIDENT_BASKETS[i % len(INCIDENT_BASKETS)]:
            item = CATALOG[sku]
            price = Decimal(item.price)
            lines.append(
                OrderLine(
                    order=orders[incident_order_number(i)],
                    sku=sku,
                    name=item.name,
                    quantity=1,
                    unit_price=price,
                    paid_amount=price,
                )
            )
    OrderLine.objects.bulk_create(lines)
    shipments = Shipment.objects.bulk_create(
        [
            Shipment(
                order=orders[incident_order_number(i)],
                direction=ShipmentDirection.OUTBOUND,
                carrier=INCIDENT_CARRIER,
                tracking_number=f"{INCIDENT_CARRIER}HB{i:08d}",
                status=ShipmentStatus.IN_TRANSIT,
                shipped_at=shipped[i],
                last_event_at=shipped[i] + timedelta(hours=20),
                origin_region=INCIDENT_ORIGIN,
                destination_region=f"{INCIDENT_REGION}/{INCIDENT_CITIES[i % len(INCIDENT_CITIES)]}",
            )
            for i in missing
        ]
    )
    if any(s.pk is None for s in shipments):  # a database without RETURNING ids for bulk inserts
        shipments = list(Shipment.objects.filter(order__in=orders.values()))
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                shipment=shipment,
                event_id=f"{shipment.tracking_number}-hub",
                occurred_at=shipment.last_event_at or shipment.shipped_at or now,
                status=ShipmentStatus.IN_TRANSIT,
                location=INCIDENT_HUB,
                description="已到达转运中心",
            )
            for shipment in shipments
        ]
    )
    return len(missing)


def _with_pks(model: Any, made: list[Any], *, shop: Shop, key: str) -> dict[str, Any]:
    """The rows just made, by ``key``, with their primary keys (read back where the database returns none)."""
    if all(row.pk is not None for row in made):
        return {getattr(row, key): row for row in made}
    values = [getattr(row, key) for row in made]
    return {getattr(row, key): row for row in model.objects.filter(shop=shop, **{f"{key}__in": values})}
