"""Typed inputs and results of the order services.

The REST API builds these from its serializers' validated data; tests and the demo data build them directly.
They hold the storefront's view of an order as given: ``orders.services.order_upsert`` checks them and names
the offending field (``lines[1].paid_amount``) in its errors, so they carry no validation of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from orders.models import BuyerTier, ShipmentStatus

if TYPE_CHECKING:
    from orders.models import Order


@dataclass(frozen=True, kw_only=True)
class BuyerData:
    """The buyer as the shop knows them; ``external_id`` is the shop's (platform's) buyer id."""

    external_id: str
    name: str = ""
    phone: str = ""
    email: str = ""
    tier: str = BuyerTier.REGULAR


@dataclass(frozen=True, kw_only=True)
class LineData:
    """One order line. Money in yuan, at most two decimal places; ``paid_amount`` is for the whole line."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    paid_amount: Decimal


@dataclass(frozen=True, kw_only=True)
class ShipmentData:
    """An outbound parcel of the order, identified by carrier and tracking number."""

    carrier: str
    tracking_number: str
    status: str = ShipmentStatus.PENDING
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    # "浙江省/杭州市": where the parcel leaves from and goes to (province/city), for incidents' scope. Empty: unknown.
    origin_region: str = ""
    destination_region: str = ""


@dataclass(frozen=True, kw_only=True)
class OrderData:
    """An order as the storefront syncs it: the whole order each time, not a patch."""

    number: str
    status: str
    paid_at: datetime
    buyer: BuyerData
    lines: Sequence[LineData]
    shipments: Sequence[ShipmentData] = ()
    delivered_at: datetime | None = None
    # Who refunds the order (tickets.payments.gateway_for) and whether it has shipping insurance (运费险).
    payment_provider: str = "manual"
    shipping_insurance: bool = False


@dataclass(frozen=True)
class UpsertResult:
    """What ``order_upsert`` did: ``created`` a new order, or ``changed`` (wrote) any row of an existing one."""

    order: Order
    created: bool
    changed: bool
