"""Which orders an incident affects (selectors: reads only).

The scope fields of ``Incident`` combine with AND; a blank field matches everything. Shipment filters (carrier,
tracking status, regions, ship date) must all hold for one and the same outbound shipment of the order; the SKU
filter holds when any line of the order has one of the SKUs. Each is an ``EXISTS`` subquery over the order's
shipments or lines (no join that multiplies orders, so no ``DISTINCT`` over 50,000 rows): PostgreSQL answers them as
semi-joins, starting from the shipment index ``shipment_outbound_scope_idx`` when a carrier is given.

Orders affected at all: paid, shipped (and, for a quality recall, delivered: the goods are with the buyer), with
something left to refund (not every line refunded already); completed and cancelled orders are done with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from incidents.models import Incident, IncidentKind, IncidentTicket
from orders.models import Order, OrderLine, OrderStatus, Shipment, ShipmentDirection

OPEN_ORDER_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED)
# A recall concerns goods the buyers already have.
RECALL_ORDER_STATUSES = (*OPEN_ORDER_STATUSES, OrderStatus.DELIVERED)


def incident_order_statuses(incident: Incident) -> tuple[str, ...]:
    if incident.kind == IncidentKind.QUALITY_RECALL:
        return tuple(RECALL_ORDER_STATUSES)
    return tuple(OPEN_ORDER_STATUSES)


def _shipment_filter(incident: Incident) -> Q | None:
    """The outbound shipment's conditions, or None when the scope says nothing about shipments."""
    conditions = Q()
    if incident.carrier:
        conditions &= Q(carrier=incident.carrier)
    if incident.tracking_statuses:
        conditions &= Q(status__in=list(incident.tracking_statuses))
    if incident.origin_region:
        conditions &= Q(origin_region__startswith=incident.origin_region)
    if incident.destination_region:
        conditions &= Q(destination_region__startswith=incident.destination_region)
    if incident.shipped_from:
        conditions &= Q(shipped_at__gte=incident.shipped_from)
    if incident.shipped_until:
        conditions &= Q(shipped_at__lte=incident.shipped_until)
    return conditions if conditions.children else None


def incident_orders(incident: Incident) -> QuerySet[Order]:
    """The orders ``incident``'s scope matches now, each once, unordered (the caller orders or counts).

    Reads the incident's shops (one query) unless they were prefetched.
    """
    orders = Order.objects.filter(status__in=incident_order_statuses(incident))
    shop_ids = [shop.pk for shop in incident.shops.all()] if incident.pk else []
    if shop_ids:
        orders = orders.filter(shop_id__in=shop_ids)
    if incident.channels:
        orders = orders.filter(shop__channel__in=list(incident.channels))
    shipment = _shipment_filter(incident)
    if shipment is not None:
        outbound = Shipment.objects.filter(order_id=OuterRef("pk"), direction=ShipmentDirection.OUTBOUND)
        orders = orders.filter(Exists(outbound.filter(shipment)))
    if incident.skus:
        orders = orders.filter(Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), sku__in=list(incident.skus))))
    refundable = OrderLine.objects.filter(order_id=OuterRef("pk"), refunded_amount__lt=F("paid_amount"))
    return orders.filter(Exists(refundable))


def incident_new_order_ids(incident: Incident) -> list[int]:
    """Ids of the orders the scope matches that have no ticket of the incident yet, in id order."""
    linked = IncidentTicket.objects.filter(incident_id=incident.pk, order_id=OuterRef("pk"))
    return list(incident_orders(incident).filter(~Exists(linked)).order_by("pk").values_list("pk", flat=True))


@dataclass(frozen=True)
class IncidentPreview:
    """What starting the incident would touch now: matching orders, their distinct buyers, and a few of them."""

    orders: int
    buyers: int
    sample: Sequence[Order]


def incident_preview(incident: Incident, sample: int = 20) -> IncidentPreview:
    """Counts and a sample of the matching orders, in four queries whatever the size (the shops, both counts in
    one, the sample with shop and buyer, the sample's shipments)."""
    from django.db.models import Count, Prefetch

    matching = incident_orders(incident)
    counts = matching.aggregate(orders=Count("pk"), buyers=Count("buyer_id", distinct=True))
    outbound = Prefetch(
        "shipments",
        queryset=Shipment.objects.filter(direction=ShipmentDirection.OUTBOUND).order_by("pk"),
        to_attr="outbound_shipments",
    )
    rows = list(
        matching.select_related("shop", "buyer").prefetch_related(outbound).order_by("-paid_at", "-pk")[:sample]
    )
    return IncidentPreview(orders=counts["orders"], buyers=counts["buyers"], sample=rows)
