"""Shipments and their tracking events, as the ticket engine and the carriers' feeds use them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.errors import Conflict, DomainError, ValidationFailed
from orders.models import OrderStatus, Shipment, ShipmentDirection, ShipmentStatus, TrackingEvent
from orders.shipments import shipment_create, shipment_record_event
from tests.factories.orders import OrderFactory, ShipmentFactory
from tests.markers import requires_postgres
from tests.orders.concurrency import run_at_once

# -- shipment_record_event ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_tracking_event_updates_the_shipment() -> None:
    shipment = ShipmentFactory(status=ShipmentStatus.PENDING)
    at = timezone.now()

    event, created = shipment_record_event(
        shipment=shipment, event_id="e1", occurred_at=at, status="in_transit", location="杭州", description="已揽收"
    )

    assert created
    assert (event.shipment_id, event.event_id, event.location) == (shipment.pk, "e1", "杭州")
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at) == (ShipmentStatus.IN_TRANSIT, at)


@pytest.mark.django_db
def test_the_same_tracking_event_twice_is_recorded_once() -> None:
    shipment = ShipmentFactory()
    at = timezone.now()
    first, _ = shipment_record_event(shipment=shipment, event_id="e1", occurred_at=at, status="in_transit")

    again, created = shipment_record_event(
        shipment=shipment, event_id="e1", occurred_at=at + timedelta(hours=1), status="exception"
    )

    assert created is False
    assert again.pk == first.pk
    assert TrackingEvent.objects.count() == 1
    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at) == (ShipmentStatus.IN_TRANSIT, at)


@pytest.mark.django_db
def test_the_same_event_id_on_another_shipment_is_another_event() -> None:
    at = timezone.now()
    shipment_record_event(shipment=ShipmentFactory(), event_id="e1", occurred_at=at, status="in_transit")
    shipment_record_event(shipment=ShipmentFactory(), event_id="e1", occurred_at=at, status="in_transit")

    assert TrackingEvent.objects.count() == 2


@pytest.mark.django_db
def test_an_event_arriving_late_does_not_move_the_shipment_back() -> None:
    shipment = ShipmentFactory()
    now = timezone.now()
    shipment_record_event(shipment=shipment, event_id="late", occurred_at=now, status="exception")

    shipment_record_event(
        shipment=shipment, event_id="early", occurred_at=now - timedelta(hours=5), status="in_transit"
    )

    shipment.refresh_from_db()
    assert (shipment.status, shipment.last_event_at) == (ShipmentStatus.EXCEPTION, now)
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 2


@pytest.mark.django_db
def test_delivery_of_the_outbound_parcel_delivers_an_undelivered_order() -> None:
    order = OrderFactory(undelivered=True, status=OrderStatus.SHIPPED)
    shipment = ShipmentFactory(order=order)
    delivered_at = timezone.now() - timedelta(hours=1)

    shipment_record_event(shipment=shipment, event_id="d", occurred_at=delivered_at, status="delivered")

    shipment.refresh_from_db()
    order.refresh_from_db()
    assert (shipment.status, shipment.delivered_at) == (ShipmentStatus.DELIVERED, delivered_at)
    assert (order.status, order.delivered_at) == (OrderStatus.DELIVERED, delivered_at)
    assert order.return_window_ends_at() is not None


@pytest.mark.django_db
def test_a_known_delivery_time_of_the_order_is_kept() -> None:
    order = OrderFactory()
    known = order.delivered_at
    shipment = ShipmentFactory(order=order)

    shipment_record_event(shipment=shipment, event_id="d", occurred_at=timezone.now(), status="delivered")

    order.refresh_from_db()
    assert order.delivered_at == known


@pytest.mark.django_db
def test_delivery_of_a_return_parcel_does_not_deliver_the_order() -> None:
    order = OrderFactory(undelivered=True)
    return_parcel = ShipmentFactory(order=order, direction=ShipmentDirection.RETURN)

    shipment_record_event(shipment=return_parcel, event_id="d", occurred_at=timezone.now(), status="delivered")

    order.refresh_from_db()
    assert (order.status, order.delivered_at) == (OrderStatus.PAID, None)
    return_parcel.refresh_from_db()
    assert return_parcel.delivered_at is not None


@pytest.mark.django_db
def test_a_cancelled_order_stays_cancelled_when_its_parcel_arrives() -> None:
    order = OrderFactory(undelivered=True, status=OrderStatus.CANCELLED)

    shipment_record_event(
        shipment=ShipmentFactory(order=order), event_id="d", occurred_at=timezone.now(), status="delivered"
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.delivered_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"event_id": " "}, "required", "event_id"),
        ({"status": "teleported"}, "invalid_choice", "status"),
        ({"occurred_at": datetime(2026, 11, 12, 8, 0)}, "invalid_datetime", "occurred_at"),
    ],
)
def test_an_invalid_tracking_event_is_refused(changes: dict[str, Any], code: str, field: str) -> None:
    shipment = ShipmentFactory()
    values = {"event_id": "e1", "occurred_at": timezone.now(), "status": "in_transit"} | changes

    with pytest.raises(ValidationFailed) as refused:
        shipment_record_event(shipment=shipment, **values)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert TrackingEvent.objects.count() == 0


@pytest.mark.django_db
def test_a_long_carrier_description_is_cut_not_refused() -> None:
    event, _ = shipment_record_event(
        shipment=ShipmentFactory(),
        event_id="e",
        occurred_at=timezone.now(),
        status="in_transit",
        description="长" * 600,
    )

    event.refresh_from_db()
    assert len(event.description) == 500


# -- shipment_create --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_shipment_create_records_the_buyers_return_parcel() -> None:
    order = OrderFactory()

    shipment = shipment_create(
        order=order, direction=ShipmentDirection.RETURN, carrier=" ZTO ", tracking_number=" 7300001 "
    )

    shipment.refresh_from_db()
    assert (shipment.order_id, shipment.direction, shipment.carrier, shipment.tracking_number, shipment.status) == (
        order.pk,
        ShipmentDirection.RETURN,
        "ZTO",
        "7300001",
        ShipmentStatus.PENDING,
    )


@pytest.mark.django_db
def test_shipment_create_twice_with_the_same_tracking_number_returns_the_same_shipment() -> None:
    order = OrderFactory()
    first = shipment_create(order=order, direction="return", carrier="ZTO", tracking_number="7300001")

    again = shipment_create(order=order, direction="return", carrier="ZTO", tracking_number="7300001")

    assert again.pk == first.pk
    assert Shipment.objects.count() == 1


@pytest.mark.django_db
def test_a_tracking_number_of_another_order_cannot_be_a_return_parcel() -> None:
    ShipmentFactory(carrier="ZTO", tracking_number="7300001")
    order = OrderFactory()

    with pytest.raises(Conflict) as refused:
        shipment_create(order=order, direction="return", carrier="ZTO", tracking_number="7300001")

    assert (refused.value.code, refused.value.field) == ("tracking_number_in_use", "tracking_number")
    assert not order.shipments.exists()


@pytest.mark.django_db
def test_the_outbound_tracking_number_cannot_be_given_as_the_return_parcel() -> None:
    outbound = ShipmentFactory(carrier="SF", tracking_number="SF1")

    with pytest.raises(Conflict) as refused:
        shipment_create(order=outbound.order, direction="return", carrier="SF", tracking_number="SF1")

    assert refused.value.code == "tracking_number_in_use"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        ({"carrier": "  ", "tracking_number": "1"}, "required", "carrier"),
        ({"carrier": "SF", "tracking_number": ""}, "required", "tracking_number"),
        ({"carrier": "SF", "tracking_number": "1" * 65}, "too_long", "tracking_number"),
        ({"carrier": "SF", "tracking_number": "1", "direction": "sideways"}, "invalid_choice", "direction"),
    ],
)
def test_shipment_create_refuses_invalid_input(values: dict[str, str], code: str, field: str) -> None:
    order = OrderFactory()

    with pytest.raises(DomainError) as refused:
        shipment_create(order=order, **({"direction": "return"} | values))

    assert (refused.value.code, refused.value.field) == (code, field)
    assert Shipment.objects.count() == 0


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_tracking_event_delivered_four_times_at_once_is_recorded_once() -> None:
    shipment = ShipmentFactory()
    at = timezone.now()

    results = run_at_once(
        4,
        lambda _: shipment_record_event(
            shipment=Shipment.objects.get(pk=shipment.pk), event_id="e1", occurred_at=at, status="delivered"
        ),
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(created for _, created in results) == [False, False, False, True]
    assert TrackingEvent.objects.count() == 1
