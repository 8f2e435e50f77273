"""The orders ``manage.py bench_incident`` declares an incident over: one shop, N buyers, N shipped orders of one
line each, every one with an outbound SF parcel in transit from Hangzhou, and a few on-duty staff members in the
departments the tickets go to (logistics, supervisors), so routing's assignment runs as on a real desk.

On PostgreSQL each table is filled by one ``INSERT … SELECT … FROM generate_series``; elsewhere by ``bulk_create``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from incidents.models import Incident
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
from routing.models import Department, StaffMember

BENCH_CODE = "bench-incident"
CARRIER = "BENCH-SF"
SKU = "BENCH-TEE-M"
ORIGIN = "浙江省/杭州市"
DESTINATION = "北京市/北京市"
AMOUNT = Decimal("99.00")
STAFF_PER_DEPARTMENT = 5


def shop_make() -> Shop:
    shop, _ = Shop.objects.get_or_create(
        code=BENCH_CODE, defaults={"name": "Benchmark incident shop", "channel": Channel.TMALL}
    )
    for code in ("logistics", "supervisors"):
        department = Department.objects.filter(code=code).first()
        for i in range(STAFF_PER_DEPARTMENT):
            user, _ = get_user_model().objects.get_or_create(username=f"{BENCH_CODE}-{code}-{i}")
            member, _ = StaffMember.objects.get_or_create(user=user)
            if department is not None:
                member.departments.add(department)
    return shop


def orders_seed(shop: Shop, *, n: int, now: datetime) -> None:
    """``n`` matching orders (buyers, orders, lines, parcels), in one transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            _seed_sql(shop, n=n, now=now)
        else:
            _seed_python(shop, n=n, now=now)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("orders_buyer", "orders_order", "orders_orderline", "orders_shipment"):
                cursor.execute(f"ANALYZE {table}")


def _seed_sql(shop: Shop, *, n: int, now: datetime) -> None:
    paid_at, shipped_at = now - timedelta(days=3), now - timedelta(days=2)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_buyer (shop_id, external_id, name, phone, email, tier) "
            "SELECT %s, %s || g, '买家' || g, '139' || lpad(g::text, 8, '0'), '', 'regular' "
            "FROM generate_series(1, %s) AS g",
            [shop.pk, f"{BENCH_CODE}-", n],
        )
        cursor.execute(
            "INSERT INTO orders_order (shop_id, buyer_id, number, status, paid_at, payment_provider, "
            "shipping_insurance, delivered_at, created_at, updated_at) "
            "SELECT %s, b.id, 'BI' || lpad(b.id::text, 12, '0'), %s, %s, 'manual', false, NULL, %s, %s "
            "FROM orders_buyer AS b WHERE b.shop_id = %s",
            [shop.pk, OrderStatus.SHIPPED, paid_at, paid_at, paid_at, shop.pk],
        )
        cursor.execute(
            "INSERT INTO orders_orderline (order_id, sku, name, quantity, unit_price, paid_amount, refunded_amount) "
            "SELECT o.id, %s, 'T恤 M', 1, %s, %s, 0 FROM orders_order AS o WHERE o.shop_id = %s",
            [SKU, AMOUNT, AMOUNT, shop.pk],
        )
        cursor.execute(
            "INSERT INTO orders_shipment (order_id, direction, carrier, tracking_number, status, shipped_at, "
            "delivered_at, last_event_at, origin_region, destination_region, created_at) "
            "SELECT o.id, %s, %s, 'BSF' || lpad(o.id::text, 12, '0'), %s, %s, NULL, %s, %s, %s, %s "
            "FROM orders_order AS o WHERE o.shop_id = %s",
            [
                ShipmentDirection.OUTBOUND,
                CARRIER,
                ShipmentStatus.IN_TRANSIT,
                shipped_at,
                shipped_at,
                ORIGIN,
                DESTINATION,
                shipped_at,
                shop.pk,
            ],
        )


def _seed_python(shop: Shop, *, n: int, now: datetime) -> None:
    paid_at, shipped_at = now - timedelta(days=3), now - timedelta(days=2)
    buyers = Buyer.objects.bulk_create(
        [Buyer(shop=shop, external_id=f"{BENCH_CODE}-{g}", name=f"买家{g}", phone=f"139{g:08d}") for g in range(n)],
        batch_size=1000,
    )
    orders = Order.objects.bulk_create(
        [
            Order(shop=shop, buyer=b, number=f"BI{g:012d}", status=OrderStatus.SHIPPED, paid_at=paid_at)
            for g, b in enumerate(buyers)
        ],
        batch_size=1000,
    )
    OrderLine.objects.bulk_create(
        [OrderLine(order=o, sku=SKU, name="T恤 M", quantity=1, unit_price=AMOUNT, paid_amount=AMOUNT) for o in orders],
        batch_size=1000,
    )
    Shipment.objects.bulk_create(
        [
            Shipment(
                order=o,
                carrier=CARRIER,
                tracking_number=f"BSF{o.pk:012d}",
                status=ShipmentStatus.IN_TRANSIT,
                shipped_at=shipped_at,
                last_event_at=shipped_at,
                origin_region=ORIGIN,
                destination_region=DESTINATION,
            )
            for o in orders
        ],
        batch_size=1000,
    )


def bench_delete() -> None:
    """The benchmark's incidents, orders, buyers, shop and staff (the ticket tables are emptied by the caller)."""
    Incident.objects.filter(title__startswith="bench").delete()
    shop = Shop.objects.filter(code=BENCH_CODE).first()
    if shop is not None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM orders_trackingevent WHERE shipment_id IN (SELECT s.id FROM orders_shipment AS s "
                "JOIN orders_order AS o ON o.id = s.order_id WHERE o.shop_id = %s)",
                [shop.pk],
            )
            cursor.execute(
                "DELETE FROM orders_shipment WHERE order_id IN (SELECT id FROM orders_order WHERE shop_id = %s)",
                [shop.pk],
            )
            cursor.execute(
                "DELETE FROM orders_orderline WHERE order_id IN (SELECT id FROM orders_order WHERE shop_id = %s)",
                [shop.pk],
            )
            cursor.execute("DELETE FROM orders_order WHERE shop_id = %s", [shop.pk])
            cursor.execute("DELETE FROM orders_buyer WHERE shop_id = %s", [shop.pk])
        shop.delete()
    StaffMember.objects.filter(user__username__startswith=f"{BENCH_CODE}-").delete()
    get_user_model().objects.filter(username__startswith=f"{BENCH_CODE}-").delete()


def matching_now(shop: Shop) -> int:
    return Order.objects.filter(shop=shop).count()


def incident_make(shop: Shop, *, n: int) -> Incident:
    incident = Incident.objects.create(
        title=f"bench: {CARRIER} hub closed ({n:,} orders)",
        kind="logistics_delay",
        carrier=CARRIER,
        tracking_statuses=[ShipmentStatus.IN_TRANSIT],
        origin_region="浙江省",
        message={
            "zh-hans": "您的包裹因杭州中转站停运延误，我们深表歉意。",
            "en": "Your parcel is delayed; we are sorry.",
        },
        expected_delivery_date=(timezone.now() + timedelta(days=4)).date(),
        offers=["wait", "refund"],
        compensation_amount=Decimal("5.00"),
    )
    incident.shops.set([shop])
    return incident
