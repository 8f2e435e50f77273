"""Reads of orders, with the related rows every caller needs fetched once, in a fixed number of queries.

An order read here comes with its shop and buyer (joined) and its lines and shipments (one prefetch query
each), so an API list of any page size costs the same number of queries.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from kefu.core.errors import NotFound
from orders.models import Buyer, Order, Shipment, Shop


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("shop", "buyer").prefetch_related("lines", "shipments")


def order_get(*, shop: Shop, number: str) -> Order:
    """The order ``number`` of ``shop``; another shop's order is not found, like a missing one."""
    order = _orders().filter(shop=shop, number=number).first()
    if order is None:
        raise NotFound(f"Order {number} not found.", code="order_not_found", field="number")
    return order


def order_list(
    *,
    shop: Shop,
    buyer: Buyer | None = None,
    status: str | None = None,
    number: str | None = None,
    paid_from: datetime | None = None,
    paid_to: datetime | None = None,
) -> QuerySet[Order]:
    """The shop's orders, newest payment first, narrowed by whichever filters are given.

    ``paid_from`` is inclusive and ``paid_to`` exclusive, so consecutive periods do not overlap.
    """
    orders = _orders().filter(shop=shop)
    if buyer is not None:
        orders = orders.filter(buyer=buyer)
    if status:
        orders = orders.filter(status=status)
    if number:
        orders = orders.filter(number=number)
    if paid_from is not None:
        orders = orders.filter(paid_at__gte=paid_from)
    if paid_to is not None:
        orders = orders.filter(paid_at__lt=paid_to)
    return orders.order_by("-paid_at", "-pk")


def shipment_get_by_tracking(*, carrier: str, tracking_number: str) -> Shipment:
    """The shipment a carrier's tracking feed speaks of, with its order (to which tracking events propagate)."""
    shipment = (
        Shipment.objects.select_related("order")
        .filter(carrier=carrier.strip(), tracking_number=tracking_number.strip())
        .first()
    )
    if shipment is None:
        raise NotFound(
            f"No shipment with tracking number {tracking_number} of {carrier}.",
            code="shipment_not_found",
            field="tracking_number",
        )
    return shipment
