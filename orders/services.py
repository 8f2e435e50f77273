"""Writes to orders: the storefront's order sync (``order_upsert``, with the order's lines and outbound
shipments). New shipments and carriers' tracking events are ``orders.shipments``.

Lock order, everywhere a function locks more than one row: the order, then its lines (by pk), then a
shipment. ``order_upsert`` and ``orders.shipments.shipment_record_event`` both follow it, so a sync and a
tracking feed for the same order never deadlock; ticket services that lock an order and its lines must follow
it too.

Every function runs in one transaction: a refusal (a ``kefu.core.errors.DomainError``) leaves nothing written.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict
from orders.models import (
    Buyer,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentDirection,
    Shop,
)
from orders.shipments import shipment_insert, tracking_number_check_free
from orders.types import BuyerData, LineData, OrderData, ShipmentData, UpsertResult
from orders.validation import (
    order_data_clean,
)

# Statuses an order moves through in this order. A sync never moves an order back along it: a tracking
# feed may have marked the order delivered before the storefront's next sync says so.
_ORDER_PROGRESS: dict[str, int] = {
    OrderStatus.PAID: 0,
    OrderStatus.SHIPPED: 1,
    OrderStatus.DELIVERED: 2,
    OrderStatus.COMPLETED: 3,
}


# -- order sync -----------------------------------------------------------------------------------------


@transaction.atomic
def order_upsert(*, shop: Shop, data: OrderData) -> UpsertResult:
    """Create or update the order ``data.number`` of ``shop`` so that it matches the storefront's payload.

    Idempotent: the same payload twice gives one order and writes no row the second time
    (``changed=False``). Lines are matched by SKU, shipments by carrier + tracking number, the buyer by
    (shop, external id). Lines absent from the payload are deleted; shipments absent from it are kept
    (tickets and tracking history refer to them).

    What tracking knows better than the storefront survives a sync: a payload without ``delivered_at``
    keeps a known delivery time, a status never moves back along paid → shipped → delivered → completed,
    and a shipment's status comes from its tracking events once it has any.

    Refused (nothing written): an invalid payload (``ValidationFailed`` naming the field); dropping a line
    a ticket refers to (``line_referenced``); a paid amount below what was already refunded on the line
    (``paid_below_refunded``); a tracking number another order uses (``tracking_number_in_use``);
    another buyer for an order that has tickets (``order_buyer_changed``).

    Concurrency: two syncs of the same new order at once create it once (the unique constraint decides,
    the loser re-reads the winner's order). The order row is locked (``select_for_update``), then its lines.
    """
    data = order_data_clean(data)
    buyer, buyer_changed = _buyer_upsert(shop=shop, data=data.buyer)

    created = False
    order = _order_locked(shop=shop, number=data.number)
    if order is None:
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    shop=shop,
                    buyer=buyer,
                    number=data.number,
                    status=data.status,
                    paid_at=data.paid_at,
                    delivered_at=data.delivered_at,
                    payment_provider=data.payment_provider,
                    shipping_insurance=data.shipping_insurance,
                )
        except IntegrityError:
            # Another sync created the same order since we looked; it has committed, so we can lock it.
            order = _order_locked(shop=shop, number=data.number)
            if order is None:
                raise
        else:
            created = True

    order_fields = [] if created else _order_fields_apply(order=order, data=data, buyer=buyer)
    lines_plan = _lines_plan(order=order, lines=data.lines, new_order=created)
    shipments_plan = _shipments_plan(order=order, shipments=data.shipments, new_order=created)

    lines_changed = _lines_plan_apply(order=order, plan=lines_plan)
    shipments_changed = _shipments_plan_apply(order=order, plan=shipments_plan)
    if order_fields or (not created and (lines_changed or shipments_changed)):
        order.save(update_fields=[*order_fields, "updated_at"])

    changed = created or buyer_changed or bool(order_fields) or lines_changed or shipments_changed
    return UpsertResult(order=order, created=created, changed=changed)


def _order_locked(*, shop: Shop, number: str) -> Order | None:
    return Order.objects.select_for_update().filter(shop=shop, number=number).first()


def _buyer_upsert(*, shop: Shop, data: BuyerData) -> tuple[Buyer, bool]:
    """The buyer (shop, external id) with the payload's details; True when a row was written."""
    values = {"name": data.name, "phone": data.phone, "email": data.email, "tier": data.tier}
    buyer = Buyer.objects.filter(shop=shop, external_id=data.external_id).first()
    if buyer is None:
        try:
            with transaction.atomic():
                return Buyer.objects.create(shop=shop, external_id=data.external_id, **values), True
        except IntegrityError:
            # Created by a concurrent sync (of this or another order of the same buyer).
            buyer = Buyer.objects.filter(shop=shop, external_id=data.external_id).first()
            if buyer is None:
                raise
    changed_fields = [name for name, value in values.items() if getattr(buyer, name) != value]
    for name in changed_fields:
        setattr(buyer, name, values[name])
    if changed_fields:
        buyer.save(update_fields=changed_fields)
    return buyer, bool(changed_fields)


def _order_fields_apply(*, order: Order, data: OrderData, buyer: Buyer) -> list[str]:
    """Set the payload's values on the locked ``order`` in memory; the names of the fields that changed."""
    if order.buyer_id != buyer.pk and order.tickets.exists():
        raise Conflict(
            _("Order %(order)s has tickets for another buyer; its buyer cannot change.") % {"order": order.number},
            code="order_buyer_changed",
            field="buyer.external_id",
        )
    status = data.status
    if status in _ORDER_PROGRESS and order.status in _ORDER_PROGRESS:
        if _ORDER_PROGRESS[status] < _ORDER_PROGRESS[order.status]:
            status = order.status
    wanted = {
        "buyer_id": buyer.pk,
        "status": status,
        "paid_at": data.paid_at,
        "delivered_at": data.delivered_at or order.delivered_at,
        "payment_provider": data.payment_provider,
        "shipping_insurance": data.shipping_insurance,
    }
    changed = [name for name, value in wanted.items() if getattr(order, name) != value]
    for name in changed:
        setattr(order, name, wanted[name])
    return [name.removesuffix("_id") for name in changed]


@dataclass
class _LinesPlan:
    create: list[OrderLine] = field(default_factory=list)
    update: list[tuple[OrderLine, list[str]]] = field(default_factory=list)
    delete: list[OrderLine] = field(default_factory=list)


def _lines_plan(*, order: Order, lines: Sequence[LineData], new_order: bool) -> _LinesPlan:
    """What to write to make the order's lines match ``lines``; refuses what tickets forbid. Locks the lines."""
    plan = _LinesPlan()
    current: dict[str, OrderLine] = {}
    if not new_order:
        current = {line.sku: line for line in OrderLine.objects.select_for_update().filter(order=order).order_by("pk")}
    for index, data in enumerate(lines):
        values = {
            "name": data.name,
            "quantity": data.quantity,
            "unit_price": data.unit_price,
            "paid_amount": data.paid_amount,
        }
        line = current.get(data.sku)
        if line is None:
            plan.create.append(OrderLine(order=order, sku=data.sku, **values))
            continue
        if data.paid_amount < line.refunded_amount:
            raise Conflict(
                _("Line %(sku)s: %(refunded)s has already been refunded, so the paid amount cannot become %(paid)s.")
                % {"sku": data.sku, "refunded": line.refunded_amount, "paid": data.paid_amount},
                code="paid_below_refunded",
                field=f"lines[{index}].paid_amount",
            )
        changed = [name for name, value in values.items() if getattr(line, name) != value]
        if changed:
            for name in changed:
                setattr(line, name, values[name])
            plan.update.append((line, changed))

    wanted_skus = {data.sku for data in lines}
    plan.delete = [line for sku, line in current.items() if sku not in wanted_skus]
    if plan.delete:
        referenced = sorted(
            OrderLine.objects.filter(pk__in=[line.pk for line in plan.delete], ticket_lines__isnull=False)
            .values_list("sku", flat=True)
            .distinct()
        )
        if referenced:
            raise Conflict(
                _("Line(s) %(skus)s are part of after-sales tickets and cannot be removed.")
                % {"skus": ", ".join(referenced)},
                code="line_referenced",
                field="lines",
                skus=referenced,
            )
    return plan


def _lines_plan_apply(*, order: Order, plan: _LinesPlan) -> bool:
    if plan.delete:
        OrderLine.objects.filter(pk__in=[line.pk for line in plan.delete]).delete()
    for line, changed in plan.update:
        line.save(update_fields=changed)
    if plan.create:
        OrderLine.objects.bulk_create(plan.create)
    return bool(plan.create or plan.update or plan.delete)


@dataclass
class _ShipmentsPlan:
    create: list[tuple[int, Shipment]] = field(default_factory=list)
    update: list[tuple[Shipment, list[str]]] = field(default_factory=list)


def _shipments_plan(*, order: Order, shipments: Sequence[ShipmentData], new_order: bool) -> _ShipmentsPlan:
    plan = _ShipmentsPlan()
    current: dict[tuple[str, str], Shipment] = {}
    if not new_order and shipments:
        current = {(s.carrier, s.tracking_number): s for s in Shipment.objects.filter(order=order)}
    for index, data in enumerate(shipments):
        shipment = current.get((data.carrier, data.tracking_number))
        if shipment is None:
            tracking_number_check_free(
                order=order,
                carrier=data.carrier,
                tracking_number=data.tracking_number,
                field=f"shipments[{index}].tracking_number",
            )
            plan.create.append(
                (
                    index,
                    Shipment(
                        order=order,
                        direction=ShipmentDirection.OUTBOUND,
                        carrier=data.carrier,
                        tracking_number=data.tracking_number,
                        status=data.status,
                        shipped_at=data.shipped_at,
                        delivered_at=data.delivered_at,
                        origin_region=data.origin_region,
                        destination_region=data.destination_region,
                    ),
                )
            )
            continue
        wanted = {
            # Once the carrier's feed has spoken, it knows the parcel's status better than the storefront.
            "status": shipment.status if shipment.last_event_at else data.status,
            "shipped_at": data.shipped_at or shipment.shipped_at,
            "delivered_at": data.delivered_at or shipment.delivered_at,
            "origin_region": data.origin_region or shipment.origin_region,
            "destination_region": data.destination_region or shipment.destination_region,
        }
        changed = [name for name, value in wanted.items() if getattr(shipment, name) != value]
        if changed:
            for name in changed:
                setattr(shipment, name, wanted[name])
            plan.update.append((shipment, changed))
    return plan


def _shipments_plan_apply(*, order: Order, plan: _ShipmentsPlan) -> bool:
    for shipment, changed in plan.update:
        shipment.save(update_fields=changed)
    for index, shipment in plan.create:
        shipment_insert(shipment=shipment, field=f"shipments[{index}].tracking_number")
    return bool(plan.create or plan.update)


# -- storefront webhook secret --------------------------------------------------------------------------


@dataclass(frozen=True)
class RotatedSecret:
    shop: Shop
    secret: str  # the new secret, shown once to whoever rotated it
    previous_until: datetime


@transaction.atomic
def shop_webhook_secret_rotate(*, shop_id: int, now: datetime | None = None) -> RotatedSecret:
    """Give the shop a new random webhook secret; the old one keeps signing too (a second signature in
    ``X-Kefu-Signature``) for ``KEFU_WEBHOOK_SECRET_OVERLAP_HOURS``, so the storefront can switch meanwhile.

    Locks the shop's row. Rotating again during an overlap ends the earlier overlap: only the secret just
    replaced stays valid alongside the new one.
    """
    now = now or timezone.now()
    shop = Shop.objects.select_for_update().get(pk=shop_id)
    secret = secrets.token_urlsafe(32)
    previous_until = now + timedelta(hours=settings.KEFU_WEBHOOK_SECRET_OVERLAP_HOURS)
    if shop.webhook_secret:
        shop.webhook_secret_previous = shop.webhook_secret
        shop.webhook_secret_previous_until = previous_until
    shop.webhook_secret = secret
    shop.save(update_fields=["webhook_secret", "webhook_secret_previous", "webhook_secret_previous_until"])
    return RotatedSecret(shop=shop, secret=secret, previous_until=previous_until)
