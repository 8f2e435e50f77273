"""The storefront's order sync carries where each parcel leaves from and goes to (province/city), which an
incident's scope matches on; a later sync without them keeps what was known."""

from __future__ import annotations

import pytest

from orders.models import Shipment
from tests.api.conftest import url
from tests.api.test_storefront import order_body

pytestmark = pytest.mark.django_db


def test_the_shipments_regions_are_stored_read_back_and_kept_by_a_sync_without_them(shop_a):
    path = url("order", number="T-R1")
    parcel = {
        "carrier": "SF",
        "tracking_number": "SF-R1",
        "status": "in_transit",
        "origin_region": " 浙江省/杭州市 ",
        "destination_region": "北京市/北京市",
    }
    created = shop_a.client.put(
        path, order_body(status="shipped", delivered_at=None, shipments=[parcel]), format="json"
    )
    assert created.status_code == 201, created.content
    shown = created.json()["shipments"][0]
    assert (shown["origin_region"], shown["destination_region"]) == ("浙江省/杭州市", "北京市/北京市")

    bare = {"carrier": "SF", "tracking_number": "SF-R1", "status": "in_transit"}
    again = shop_a.client.put(path, order_body(status="shipped", delivered_at=None, shipments=[bare]), format="json")
    assert again.status_code == 200, again.content
    stored = Shipment.objects.get(tracking_number="SF-R1")
    assert (stored.origin_region, stored.destination_region) == ("浙江省/杭州市", "北京市/北京市")


def test_a_region_longer_than_the_column_is_refused_naming_the_field(shop_a):
    parcel = {"carrier": "SF", "tracking_number": "SF-R2", "destination_region": "省" * 65}
    refused = shop_a.client.put(url("order", number="T-R2"), order_body(shipments=[parcel]), format="json")
    assert refused.status_code == 400
    assert "destination_region" in str(refused.json())
