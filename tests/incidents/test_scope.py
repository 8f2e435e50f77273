"""Which orders an incident's scope matches (incidents.scope), filter by filter and combined, and the preview."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.scope import incident_orders, incident_preview
from orders.models import Channel, OrderStatus, ShipmentDirection, ShipmentStatus
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import OrderLineFactory, ShipmentFactory, ShopFactory

pytestmark = pytest.mark.django_db


def matched(incident) -> set[str]:
    return set(incident_orders(incident).values_list("number", flat=True))


def test_the_carrier_picks_the_orders_whose_outbound_parcel_it_carries():
    sf = delayed_order(carrier="SF", number="SF-1")
    delayed_order(carrier="ZTO", number="ZTO-1")
    # A return parcel by SF does not make an order's delivery late.
    other = delayed_order(carrier="ZTO", number="ZTO-RET")
    ShipmentFactory(order=other, carrier="SF", direction=ShipmentDirection.RETURN)

    assert matched(IncidentFactory(carrier="SF")) == {sf.number}


def test_the_tracking_status_of_the_outbound_parcel():
    delayed_order(number="TRANSIT", tracking_status=ShipmentStatus.IN_TRANSIT)
    delayed_order(number="EXC", tracking_status=ShipmentStatus.EXCEPTION)
    delayed_order(number="PENDING", tracking_status=ShipmentStatus.PENDING)
    assert matched(
        IncidentFactory(carrier="", tracking_statuses=[ShipmentStatus.IN_TRANSIT, ShipmentStatus.EXCEPTION])
    ) == {"TRANSIT", "EXC"}

    assert matched(IncidentFactory(carrier="", tracking_statuses=[ShipmentStatus.PENDING])) == {"PENDING"}


def test_regions_match_a_prefix_of_province_then_city():
    delayed_order(number="HZ", origin_region="浙江省/杭州市", destination_region="上海市/上海市")
    delayed_order(number="NB", origin_region="浙江省/宁波市", destination_region="北京市/北京市")
    delayed_order(number="SZ", origin_region="广东省/深圳市", destination_region="上海市/上海市")

    assert matched(IncidentFactory(carrier="", origin_region="浙江省")) == {"HZ", "NB"}
    assert matched(IncidentFactory(carrier="", origin_region="浙江省/杭州市")) == {"HZ"}
    assert matched(IncidentFactory(carrier="", destination_region="上海市")) == {"HZ", "SZ"}
    # A region is a prefix, not a substring: "杭州市" alone names no province.
    assert matched(IncidentFactory(carrier="", origin_region="杭州市")) == set()


def test_ship_date_range_includes_both_ends():
    now = timezone.now().replace(microsecond=0)
    delayed_order(number="D3", shipped_at=now - timedelta(days=3))
    delayed_order(number="D2", shipped_at=now - timedelta(days=2))
    delayed_order(number="D1", shipped_at=now - timedelta(days=1))

    incident = IncidentFactory(shipped_from=now - timedelta(days=2), shipped_until=now - timedelta(days=1))
    assert matched(incident) == {"D2", "D1"}
    assert matched(IncidentFactory(shipped_until=now - timedelta(days=3))) == {"D3"}


def test_skus_match_any_line_of_the_order():
    two_lines = delayed_order(number="TWO", sku="RED-M")
    OrderLineFactory(order=two_lines, sku="BLUE-M")
    delayed_order(number="BLUE", sku="BLUE-L")

    assert matched(IncidentFactory(carrier="", skus=["BLUE-M"])) == {"TWO"}
    assert matched(IncidentFactory(carrier="", skus=["BLUE-M", "BLUE-L"])) == {"TWO", "BLUE"}


def test_shops_and_channels():
    tmall = ShopFactory(channel=Channel.TMALL)
    jd = ShopFactory(channel=Channel.JD)
    pdd = ShopFactory(channel=Channel.PDD)
    delayed_order(number="TM", shop=tmall)
    delayed_order(number="JD", shop=jd)
    delayed_order(number="PDD", shop=pdd)

    assert matched(IncidentFactory(shops=[tmall, jd])) == {"TM", "JD"}
    assert matched(IncidentFactory(channels=[Channel.PDD, Channel.JD])) == {"JD", "PDD"}
    assert matched(IncidentFactory()) == {"TM", "JD", "PDD"}  # blank: every shop, every channel


def test_only_orders_still_under_way_are_affected():
    delayed_order(number="PAID", status=OrderStatus.PAID)
    delayed_order(number="SHIPPED", status=OrderStatus.SHIPPED)
    delayed_order(number="DELIVERED", status=OrderStatus.DELIVERED)
    delayed_order(number="DONE", status=OrderStatus.COMPLETED)
    delayed_order(number="CANCELLED", status=OrderStatus.CANCELLED)
    refunded = delayed_order(number="REFUNDED")
    refunded.lines.update(refunded_amount=refunded.lines.get().paid_amount)

    assert matched(IncidentFactory()) == {"PAID", "SHIPPED"}
    # A recall reaches the goods already delivered too.
    assert matched(IncidentFactory(kind="quality_recall")) == {"PAID", "SHIPPED", "DELIVERED"}


def test_the_filters_combine_and_must_hold_for_the_same_parcel():
    shop = ShopFactory(channel=Channel.TMALL)
    now = timezone.now()
    hit = delayed_order(
        number="HIT", shop=shop, sku="A", origin_region="浙江省/杭州市", shipped_at=now - timedelta(days=1)
    )
    delayed_order(number="WRONG-SKU", shop=shop, sku="B", origin_region="浙江省/杭州市")
    delayed_order(number="WRONG-REGION", shop=shop, sku="A", origin_region="江苏省/苏州市")
    delayed_order(number="WRONG-CARRIER", shop=shop, sku="A", carrier="YTO", origin_region="浙江省/杭州市")
    delayed_order(number="OTHER-SHOP", sku="A", origin_region="浙江省/杭州市")
    # Two parcels: SF in Jiangsu and YTO in Zhejiang; no single parcel is an SF one from Zhejiang.
    split = delayed_order(number="SPLIT", shop=shop, sku="A", carrier="YTO", origin_region="浙江省/杭州市")
    ShipmentFactory(order=split, carrier="SF", origin_region="江苏省/苏州市")

    incident = IncidentFactory(
        shops=[shop],
        channels=[Channel.TMALL],
        carrier="SF",
        tracking_statuses=[ShipmentStatus.IN_TRANSIT],
        origin_region="浙江省",
        skus=["A"],
        shipped_from=now - timedelta(days=2),
    )
    assert matched(incident) == {hit.number}
    assert incident_orders(incident).count() == 1


def test_the_preview_counts_orders_and_buyers_and_shows_a_sample_in_four_queries():
    shop = ShopFactory()
    first = delayed_order(shop=shop)
    delayed_order(shop=shop, buyer=first.buyer)  # the same buyer twice
    for _ in range(3):
        delayed_order(shop=shop)
    delayed_order(carrier="ZTO", shop=shop)
    incident = IncidentFactory(shops=[shop])

    with CaptureQueriesContext(connection) as small:
        preview = incident_preview(incident, sample=2)
        numbers = [
            (o.number, o.buyer.name, o.shop.name, [s.carrier for s in o.outbound_shipments]) for o in preview.sample
        ]
    assert (preview.orders, preview.buyers) == (5, 4)
    assert len(numbers) == 2 and all(carriers == ["SF"] for *_, carriers in numbers)

    for _ in range(10):
        delayed_order(shop=shop)
    with CaptureQueriesContext(connection) as large:
        preview = incident_preview(incident, sample=20)
        [(o.buyer.name, o.shop.name, list(o.outbound_shipments)) for o in preview.sample]
    assert (preview.orders, preview.buyers, len(preview.sample)) == (15, 14, 15)
    assert len(small) == len(large) == 4
