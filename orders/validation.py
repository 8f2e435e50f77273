"""Checks of a storefront's order payload, before anything is written.

``order_data_clean`` returns the payload normalised (text stripped, money quantized to the fen) or raises
``ValidationFailed`` naming the field as the API client sent it (``lines[1].paid_amount``). Only checks
that need no database live here; refusals that depend on stored rows (a line tickets refer to, a tracking
number another order uses) are in ``orders.services`` and ``orders.shipments``.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed
from orders.models import BuyerTier, OrderStatus, ShipmentDirection, ShipmentStatus
from orders.types import BuyerData, LineData, OrderData, ShipmentData

CENT = Decimal("0.01")
# models.MONEY is max_digits=12, decimal_places=2: ten digits before the point.
MONEY_LIMIT = Decimal("10000000000")
# PositiveIntegerField's upper bound on every supported database.
QUANTITY_LIMIT = 2_147_483_647


def text_clean(value: object, *, field: str, max_length: int, required: bool = True) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(_("%(field)s must be text.") % {"field": field}, code="invalid", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(_("%(field)s is required.") % {"field": field}, code="required", field=field)
    if len(value) > max_length:
        raise ValidationFailed(
            _("%(field)s is longer than %(max_length)s characters.") % {"field": field, "max_length": max_length},
            code="too_long",
            field=field,
            max_length=max_length,
        )
    return value


def choice_clean(value: object, *, field: str, choices: type[object]) -> str:
    allowed = choices.values  # type: ignore[attr-defined]
    if value not in allowed:
        raise ValidationFailed(
            _("%(field)s must be one of: %(allowed)s.") % {"field": field, "allowed": ", ".join(allowed)},
            code="invalid_choice",
            field=field,
            allowed=allowed,
        )
    return str(value)


def datetime_clean(value: object, *, field: str) -> datetime:
    if not isinstance(value, datetime) or not timezone.is_aware(value):
        raise ValidationFailed(
            _("%(field)s must be a date and time with a time zone.") % {"field": field},
            code="invalid_datetime",
            field=field,
        )
    return value


def optional_datetime_clean(value: object, *, field: str) -> datetime | None:
    return None if value is None else datetime_clean(value, field=field)


def _invalid_amount(message: str, *, field: str) -> ValidationFailed:
    """``message`` (translated, with a ``%(field)s`` placeholder) about ``field`` as an ``invalid_amount`` refusal."""
    return ValidationFailed(message % {"field": field}, code="invalid_amount", field=field)


def money_clean(value: object, *, field: str) -> Decimal:
    """A non-negative amount in yuan with at most two decimal places, returned quantized to the fen.

    Floats are refused rather than converted: 0.1 + 0.2 is not 0.3, and money must not drift.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise _invalid_amount(_("%(field)s must be a decimal amount."), field=field)
    amount = Decimal(value)
    if not amount.is_finite():
        raise _invalid_amount(_("%(field)s must be a finite amount."), field=field)
    if amount < 0:
        raise _invalid_amount(_("%(field)s must not be negative."), field=field)
    if amount >= MONEY_LIMIT:
        raise _invalid_amount(_("%(field)s is too large."), field=field)
    if amount.quantize(CENT) != amount:
        raise _invalid_amount(_("%(field)s has more than two decimal places."), field=field)
    return amount.quantize(CENT)


def quantity_clean(value: object, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= QUANTITY_LIMIT:
        raise ValidationFailed(
            _("%(field)s must be a whole number above zero.") % {"field": field}, code="invalid_quantity", field=field
        )
    return value


def buyer_data_clean(data: BuyerData, *, prefix: str = "buyer") -> BuyerData:
    email = text_clean(data.email, field=f"{prefix}.email", max_length=254, required=False)
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationFailed(
                _("%(field)s is not an email address.") % {"field": f"{prefix}.email"},
                code="invalid_email",
                field=f"{prefix}.email",
            ) from None
    return BuyerData(
        external_id=text_clean(data.external_id, field=f"{prefix}.external_id", max_length=128),
        name=text_clean(data.name, field=f"{prefix}.name", max_length=200, required=False),
        phone=text_clean(data.phone, field=f"{prefix}.phone", max_length=32, required=False),
        email=email,
        tier=choice_clean(data.tier, field=f"{prefix}.tier", choices=BuyerTier),
    )


def line_data_clean(data: LineData, *, prefix: str) -> LineData:
    quantity = quantity_clean(data.quantity, field=f"{prefix}.quantity")
    unit_price = money_clean(data.unit_price, field=f"{prefix}.unit_price")
    paid_amount = money_clean(data.paid_amount, field=f"{prefix}.paid_amount")
    if paid_amount > unit_price * quantity:
        raise ValidationFailed(
            _("%(field)s (%(paid)s) is above unit price × quantity (%(total)s).")
            % {"field": f"{prefix}.paid_amount", "paid": paid_amount, "total": unit_price * quantity},
            code="paid_above_price",
            field=f"{prefix}.paid_amount",
        )
    return LineData(
        sku=text_clean(data.sku, field=f"{prefix}.sku", max_length=64),
        name=text_clean(data.name, field=f"{prefix}.name", max_length=255),
        quantity=quantity,
        unit_price=unit_price,
        paid_amount=paid_amount,
    )


def shipment_data_clean(data: ShipmentData, *, prefix: str) -> ShipmentData:
    shipped_at = optional_datetime_clean(data.shipped_at, field=f"{prefix}.shipped_at")
    delivered_at = optional_datetime_clean(data.delivered_at, field=f"{prefix}.delivered_at")
    if shipped_at and delivered_at and delivered_at < shipped_at:
        raise ValidationFailed(
            _("%(field)s is before %(other)s.") % {"field": f"{prefix}.delivered_at", "other": f"{prefix}.shipped_at"},
            code="delivered_before_shipped",
            field=f"{prefix}.delivered_at",
        )
    return ShipmentData(
        carrier=text_clean(data.carrier, field=f"{prefix}.carrier", max_length=64),
        tracking_number=text_clean(data.tracking_number, field=f"{prefix}.tracking_number", max_length=64),
        status=choice_clean(data.status, field=f"{prefix}.status", choices=ShipmentStatus),
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        origin_region=text_clean(
            data.origin_region or "", field=f"{prefix}.origin_region", max_length=64, required=False
        ),
        destination_region=text_clean(
            data.destination_region or "", field=f"{prefix}.destination_region", max_length=64, required=False
        ),
    )


def order_data_clean(data: OrderData) -> OrderData:
    """The payload normalised, or the first problem found as ``ValidationFailed`` naming its field."""
    number = text_clean(data.number, field="number", max_length=64)
    status = choice_clean(data.status, field="status", choices=OrderStatus)
    paid_at = datetime_clean(data.paid_at, field="paid_at")
    delivered_at = optional_datetime_clean(data.delivered_at, field="delivered_at")
    if delivered_at is not None and delivered_at < paid_at:
        raise ValidationFailed(
            _("%(field)s is before %(other)s.") % {"field": "delivered_at", "other": "paid_at"},
            code="delivered_before_paid",
            field="delivered_at",
        )
    buyer = buyer_data_clean(data.buyer)

    if not data.lines:
        raise ValidationFailed(_("An order needs at least one line."), code="no_lines", field="lines")
    lines: list[LineData] = []
    seen_skus: set[str] = set()
    for index, line in enumerate(data.lines):
        cleaned = line_data_clean(line, prefix=f"lines[{index}]")
        if cleaned.sku in seen_skus:
            raise ValidationFailed(
                _("SKU %(sku)s appears more than once; one line per SKU.") % {"sku": cleaned.sku},
                code="duplicate_sku",
                field=f"lines[{index}].sku",
            )
        seen_skus.add(cleaned.sku)
        lines.append(cleaned)

    shipments: list[ShipmentData] = []
    seen_tracking: set[tuple[str, str]] = set()
    for index, shipment in enumerate(data.shipments):
        cleaned_shipment = shipment_data_clean(shipment, prefix=f"shipments[{index}]")
        key = (cleaned_shipment.carrier, cleaned_shipment.tracking_number)
        if key in seen_tracking:
            raise ValidationFailed(
                _("Tracking number %(tracking_number)s of %(carrier)s appears more than once.")
                % {"tracking_number": key[1], "carrier": key[0]},
                code="duplicate_shipment",
                field=f"shipments[{index}].tracking_number",
            )
        seen_tracking.add(key)
        shipments.append(cleaned_shipment)

    return dataclasses.replace(
        data,
        number=number,
        status=status,
        paid_at=paid_at,
        delivered_at=delivered_at,
        buyer=buyer,
        lines=tuple(lines),
        shipments=tuple(shipments),
    )


def direction_clean(value: object, *, field: str = "direction") -> str:
    return choice_clean(value, field=field, choices=ShipmentDirection)
