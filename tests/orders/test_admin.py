"""What a supervisor sees in the orders admin: synced data to read and search, shops to configure."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders.models import Channel, Shop
from orders.shipments import shipment_record_event
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShipmentFactory, ShopFactory


@pytest.mark.django_db
def test_orders_are_found_by_number_and_by_buyer_phone(admin_client: Client) -> None:
    wanted = OrderFactory(buyer=BuyerFactory(phone="13912345678"))
    other = OrderFactory()
    url = reverse("admin:orders_order_changelist")

    by_phone = admin_client.get(url, {"q": "13912345678"}).content.decode()
    by_number = admin_client.get(url, {"q": wanted.number}).content.decode()

    assert wanted.number in by_phone and other.number not in by_phone
    assert wanted.number in by_number and other.number not in by_number


@pytest.mark.django_db
def test_an_order_page_shows_lines_and_shipments_but_offers_no_save(admin_client: Client) -> None:
    order = OrderFactory()
    OrderLineFactory(order=order, sku="SKU-RED-42")
    ShipmentFactory(order=order, tracking_number="SF555000111")

    response = admin_client.get(reverse("admin:orders_order_change", args=[order.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "SKU-RED-42" in page and "SF555000111" in page
    assert 'name="_save"' not in page
    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403


@pytest.mark.django_db
def test_synced_money_cannot_be_changed_through_the_admin(admin_client: Client) -> None:
    line = OrderLineFactory()

    response = admin_client.post(
        reverse("admin:orders_order_change", args=[line.order.pk]),
        {"status": "cancelled", "lines-0-paid_amount": "0.01"},
    )

    assert response.status_code == 403
    line.refresh_from_db()
    line.order.refresh_from_db()
    assert line.paid_amount == line.unit_price
    assert line.order.status != "cancelled"


@pytest.mark.django_db
def test_a_shipment_page_lists_its_tracking_events(admin_client: Client) -> None:
    shipment = ShipmentFactory()
    shipment_record_event(
        shipment=shipment, event_id="e1", occurred_at=timezone.now(), status="in_transit", location="杭州转运中心"
    )

    page = admin_client.get(reverse("admin:orders_shipment_change", args=[shipment.pk])).content.decode()

    assert "杭州转运中心" in page
    found = admin_client.get(reverse("admin:orders_shipment_changelist"), {"q": shipment.tracking_number})
    assert str(shipment.order) in found.content.decode()


@pytest.mark.django_db
def test_a_supervisor_sets_a_shops_return_window(admin_client: Client) -> None:
    shop = ShopFactory(return_window_days=7)

    response = admin_client.post(
        reverse("admin:orders_shop_change", args=[shop.pk]),
        {"name": shop.name, "code": shop.code, "channel": Channel.JD, "return_window_days": "15"},
    )

    assert response.status_code == 302
    shop = Shop.objects.get(pk=shop.pk)
    assert (shop.return_window_days, shop.channel) == (15, Channel.JD)
