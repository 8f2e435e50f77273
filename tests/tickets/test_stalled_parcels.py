"""Stalled parcels: a parcel on its way to the buyer without a tracking event for 72 h (configurable) gets one
logistics ticket, opened by the system for the buyer's order, before the buyer has to ask.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from orders.models import ShipmentDirection, ShipmentStatus
from orders.shipments import shipment_record_event
from tests.factories.desk import T0
from tests.factories.orders import ShipmentFactory
from tests.factories.tickets import order_with_line
from tickets.models import EventType, LogisticsTicket, TicketEvent
from tickets.services.stalled_parcels import stalled_parcels_open_tickets
from tickets.tasks import open_stalled_parcel_tickets_task

H = timedelta(hours=1)

pytestmark = pytest.mark.django_db


def parcel(*, last_event_ago: timedelta | None, shipped_ago: timedelta = timedelta(days=4), **fields):
    """An outbound parcel of a new order, shipped ``shipped_ago`` and last scanned ``last_event_ago``."""
    now = timezone.now()
    return ShipmentFactory(
        order=order_with_line(),
        shipped_at=now - shipped_ago,
        last_event_at=now - last_event_ago if last_event_ago is not None else None,
        **fields,
    )


def stalled_tickets(shipment) -> list[LogisticsTicket]:
    return list(LogisticsTicket.objects.filter(shipment=shipment))


def test_a_parcel_silent_for_72_hours_gets_one_logistics_ticket_opened_by_the_system(clock):
    shipment = parcel(last_event_ago=72 * H + timedelta(minutes=1))

    assert stalled_parcels_open_tickets() == 1

    (ticket,) = stalled_tickets(shipment)
    assert (ticket.exception_type, ticket.state, ticket.department) == ("stalled", "reported", "logistics")
    assert (ticket.order, ticket.buyer, ticket.shop) == (shipment.order, shipment.order.buyer, shipment.order.shop)
    assert ticket.due_at == T0 + 24 * H
    created = TicketEvent.objects.get(ticket_id=ticket.pk, event_type=EventType.CREATED)
    assert (created.actor_kind, created.actor_name) == ("system", "stalled parcel watch")
    assert shipment.tracking_number in ticket.description
    assert [line.order_line for line in ticket.lines.all()] == list(shipment.order.lines.all())


def test_a_stalled_parcel_gets_its_ticket_only_once_across_runs(clock):
    shipment = parcel(last_event_ago=80 * H)
    stalled_parcels_open_tickets()

    for _ in range(3):
        clock.shift(H)
        assert stalled_parcels_open_tickets() == 0
    assert len(stalled_tickets(shipment)) == 1


def test_a_parcel_never_scanned_counts_from_when_it_was_shipped(clock):
    silent = parcel(last_event_ago=None, shipped_ago=73 * H)
    fresh = parcel(last_event_ago=None, shipped_ago=71 * H)

    stalled_parcels_open_tickets()

    assert (len(stalled_tickets(silent)), len(stalled_tickets(fresh))) == (1, 0)


@pytest.mark.parametrize(
    ("case", "fields"),
    [
        ("recently scanned", {"last_event_ago": 71 * H}),
        ("delivered", {"last_event_ago": 100 * H, "status": ShipmentStatus.DELIVERED, "delivered_at": T0 - 100 * H}),
        ("a return parcel", {"last_event_ago": 100 * H, "direction": ShipmentDirection.RETURN}),
    ],
)
def test_no_ticket_for_a_parcel_that_is_not_stalled(clock, case, fields):
    shipment = parcel(**fields)

    assert stalled_parcels_open_tickets() == 0
    assert stalled_tickets(shipment) == []


def test_a_new_tracking_event_keeps_the_parcel_off_the_list(clock):
    shipment = parcel(last_event_ago=70 * H)
    clock.shift(H)
    shipment_record_event(
        shipment=shipment, event_id="scan-2", occurred_at=timezone.now() - H, status=ShipmentStatus.IN_TRANSIT
    )
    clock.shift(70 * H)  # 71 h after that scan

    assert stalled_parcels_open_tickets() == 0
    clock.shift(2 * H)
    assert stalled_parcels_open_tickets() == 1


def test_the_silence_allowed_is_configurable(clock):
    shipment = parcel(last_event_ago=30 * H)

    assert stalled_parcels_open_tickets(hours=72) == 0
    with override_settings(KEFU_STALLED_PARCEL_HOURS=24):
        assert open_stalled_parcel_tickets_task() == 1  # the periodic task reads the setting
    assert len(stalled_tickets(shipment)) == 1
