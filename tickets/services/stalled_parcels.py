"""Parcels that stopped moving: one logistics ticket per stalled outbound shipment, before the buyer asks.

Run by the beat task ``tickets.tasks.open_stalled_parcel_tickets_task`` (every 15 minutes by default).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from orders.models import Shipment, ShipmentDirection, ShipmentStatus
from tickets.actors import Actor
from tickets.errors import StalledParcelReported
from tickets.models import LogisticsTicket
from tickets.services.opening import logistics_open


def stalled_shipments(*, now: datetime, hours: float) -> list[Shipment]:
    """Outbound parcels with no tracking event for ``hours`` and no stalled-parcel ticket yet."""
    cutoff = now - timedelta(hours=hours)
    already = LogisticsTicket.objects.filter(exception_type="stalled", shipment__isnull=False).values("shipment_id")
    return list(
        Shipment.objects.filter(
            direction=ShipmentDirection.OUTBOUND,
            delivered_at__isnull=True,
            status__in=[ShipmentStatus.PENDING, ShipmentStatus.IN_TRANSIT],
        )
        .filter(Q(last_event_at__lt=cutoff) | Q(last_event_at__isnull=True, shipped_at__lt=cutoff))
        .exclude(pk__in=already)
        .select_related("order")
        .order_by("pk")
    )


def stalled_parcels_open_tickets(*, now: datetime | None = None, hours: float = 72) -> int:
    """Open one logistics ticket (type stalled) per stalled parcel; the buyer hears before they ask."""
    now = now or timezone.now()
    opened = 0
    for shipment in stalled_shipments(now=now, hours=hours):
        try:
            with transaction.atomic():
                logistics_open(
                    order=shipment.order,
                    actor=Actor.system("stalled parcel watch"),
                    exception_type="stalled",
                    shipment=shipment,
                    description=f"No tracking update from {shipment.carrier} {shipment.tracking_number} "
                    f"for {hours:g} hours.",
                )
            opened += 1
        except (IntegrityError, StalledParcelReported):  # another worker opened it first (one per shipment)
            continue
    return opened
