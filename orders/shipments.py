"""Writes to shipments: a new parcel of an order (``shipment_create``) and the carriers' tracking events
(``shipment_record_event``). The storefront's order sync (``orders.services.order_upsert``) creates outbound
shipments through ``shipment_insert`` too.

Lock order as in ``orders.services``: the order, then its lines (by pk), then a shipment. Every function runs in
one transaction: a refusal (a ``kefu.core.errors.DomainError``) leaves nothing written.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict
from orders.models import Order, OrderStatus, Shipment, ShipmentDirection, ShipmentStatus, TrackingEvent
from orders.validation import choice_clean, datetime_clean, direction_clean, text_clean


def tracking_number_check_free(*, order: Order, carrier: str, tracking_number: str, field: str) -> None:
    """Refuse (``tracking_number_in_use``) a carrier + tracking number another order's shipment has."""
    other = (
        Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number)
        .exclude(order=order)
        .select_related("order")
        .first()
    )
    if other is not None:
        raise Conflict(
            _("Tracking number %(tracking_number)s of %(carrier)s already belongs to order %(order)s.")
            % {"tracking_number": tracking_number, "carrier": carrier, "order": other.order.number},
            code="tracking_number_in_use",
            field=field,
        )


def shipment_insert(*, shipment: Shipment, field: str) -> None:
    """Insert ``shipment``; a concurrent insert of the same tracking number is ``tracking_number_in_use``."""
    try:
        with transaction.atomic():
            shipment.save(force_insert=True)
    except IntegrityError:
        raise Conflict(
            _("Tracking number %(tracking_number)s of %(carrier)s is already in use.")
            % {"tracking_number": shipment.tracking_number, "carrier": shipment.carrier},
            code="tracking_number_in_use",
            field=field,
        ) from None


@transaction.atomic
def shipment_create(*, order: Order, direction: str, carrier: str, tracking_number: str) -> Shipment:
    """A new shipment of ``order`` (e.g. the buyer's return parcel), status pending.

    Carrier and tracking number are required and stripped. The same carrier + tracking number for the
    same order and direction returns the existing shipment (a retried request is not an error); used by
    another order, or by this order in another direction, it is ``tracking_number_in_use``. Takes no lock:
    the unique constraint on (carrier, tracking number) decides between concurrent creates.
    """
    direction = direction_clean(direction)
    carrier = text_clean(carrier, field="carrier", max_length=64)
    tracking_number = text_clean(tracking_number, field="tracking_number", max_length=64)

    existing = Shipment.objects.filter(carrier=carrier, tracking_number=tracking_number).first()
    if existing is not None and existing.order_id == order.pk and existing.direction == direction:
        return existing
    if existing is not None:
        raise Conflict(
            _("Tracking number %(tracking_number)s of %(carrier)s is already used by another shipment.")
            % {"tracking_number": tracking_number, "carrier": carrier},
            code="tracking_number_in_use",
            field="tracking_number",
        )
    shipment = Shipment(order=order, direction=direction, carrier=carrier, tracking_number=tracking_number)
    shipment_insert(shipment=shipment, field="tracking_number")
    return shipment


@transaction.atomic
def shipment_record_event(
    *,
    shipment: Shipment,
    event_id: str,
    occurred_at: datetime,
    status: str,
    location: str = "",
    description: str = "",
) -> tuple[TrackingEvent, bool]:
    """Record one carrier scan of ``shipment``; returns the event and whether it was new.

    Idempotent by (shipment, event id): a feed delivered twice records the event once, and the first
    version of an event wins. The latest event (by ``occurred_at``) sets the shipment's status and
    ``last_event_at``, which only moves forward, so events arriving out of order change nothing they
    should not. A delivered event sets the shipment's ``delivered_at``; for an outbound shipment it also
    sets the order's ``delivered_at`` if unknown (which starts the return window) and moves a paid or
    shipped order to delivered.

    Locks the order, then the shipment (the module's lock order). ``shipment`` is updated in place too.
    Location and description are cut to their column length: they are for people to read, and a feed
    must not be refused over a long description.
    """
    event_id = text_clean(event_id, field="event_id", max_length=128)
    occurred = datetime_clean(occurred_at, field="occurred_at")
    status = choice_clean(status, field="status", choices=ShipmentStatus)
    location = text_clean(location, field="location", max_length=10_000, required=False)[:200]
    description = text_clean(description, field="description", max_length=10_000, required=False)[:500]

    order = Order.objects.select_for_update().get(pk=shipment.order_id)
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    existing = TrackingEvent.objects.filter(shipment=locked, event_id=event_id).first()
    if existing is not None:
        return existing, False
    event = TrackingEvent.objects.create(
        shipment=locked,
        event_id=event_id,
        occurred_at=occurred,
        status=status,
        location=location,
        description=description,
    )

    changed: list[str] = []
    if locked.last_event_at is None or occurred >= locked.last_event_at:
        locked.last_event_at = occurred
        locked.status = status
        changed += ["last_event_at", "status"]
    if status == ShipmentStatus.DELIVERED and (locked.delivered_at is None or occurred < locked.delivered_at):
        locked.delivered_at = occurred
        changed.append("delivered_at")
    if changed:
        locked.save(update_fields=changed)
    for name in ("status", "last_event_at", "delivered_at"):
        setattr(shipment, name, getattr(locked, name))

    if (
        status == ShipmentStatus.DELIVERED
        and locked.direction == ShipmentDirection.OUTBOUND
        and order.delivered_at is None
    ):
        order.delivered_at = occurred
        order_fields = ["delivered_at", "updated_at"]
        if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED):
            order.status = OrderStatus.DELIVERED
            order_fields.append("status")
        order.save(update_fields=order_fields)
    return event, True
