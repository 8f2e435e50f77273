"""The demo's stuck parcels (desk/demo/incident.py): orders of the official shop shipped by ZTO to Hubei, still in
transit, so that a supervisor can declare a carrier delay over exactly them; made in bulk, once."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from desk.demo.incident import (
    INCIDENT_CARRIER,
    INCIDENT_ORDER_PREFIX,
    INCIDENT_REGION,
    incident_orders_seed,
)
from orders.models import Order, Shipment, ShipmentStatus

pytestmark = pytest.mark.django_db


def stuck_orders():
    return Order.objects.filter(
        shipments__carrier=INCIDENT_CARRIER,
        shipments__status=ShipmentStatus.IN_TRANSIT,
        shipments__destination_region__startswith=INCIDENT_REGION,
    ).distinct()


def test_seed_demo_makes_the_stuck_orders_once_and_only_they_go_to_hubei(settings, tmp_path, monkeypatch) -> None:
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.setenv("KEFU_DEMO_INCIDENT_ORDERS", "30")
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115

    orders = stuck_orders()
    assert orders.count() == 30
    assert set(orders.values_list("shop__code", flat=True)) == {"demo-own"}
    assert all(number.startswith(INCIDENT_ORDER_PREFIX) for number in orders.values_list("number", flat=True))
    # Nothing else of the demo is on its way to Hubei: the scope "ZTO, in transit, 湖北省" is these orders.
    assert Shipment.objects.filter(destination_region__startswith=INCIDENT_REGION).count() == 30
    first = orders.order_by("number").first()
    assert first.lines.count() >= 1 and first.buyer.phone
    assert first.shipments.get().events.count() == 1  # the last scan: at the Wuhan hub

    # A second run adds none; a larger demo size adds only the missing ones.
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert stuck_orders().count() == 30
    assert incident_orders_seed(35) == 5
    assert stuck_orders().count() == 35


def test_the_official_shop_has_a_coupon_for_each_stuck_order(settings, tmp_path) -> None:
    from desk.demo.scenarios import Demo
    from desk.demo.setup import users_ensure
    from payments.models import CouponCode

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    Demo(users=users_ensure()).shops_create()
    assert incident_orders_seed(8) == 8
    assert CouponCode.objects.filter(shop__code="demo-own", issued_to__isnull=True).count() == 8
    assert incident_orders_seed(8) == 0
    assert CouponCode.objects.filter(shop__code="demo-own").count() == 8
