"""Input shapes of the API, and the output shapes of orders and errors. Serializers validate and shape data;
they never change anything (views call services). A ticket's output shapes are in api.ticket_output.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypedDict

from django.utils.translation import gettext as _
from rest_framework import serializers

from orders.models import BuyerTier, OrderStatus, PaymentProvider, ShipmentStatus
from tickets.workflows.complaint import ComplaintCategory, Severity
from tickets.workflows.logistics import ExceptionType


class _Money(TypedDict):
    max_digits: int
    decimal_places: int
    min_value: Decimal


# ``Serializer(many=True, max_length=...)`` hands max_length to its ListSerializer (DRF 3.14+); drf-stubs do not
# know it, hence the ``type: ignore[call-arg]`` on those fields.
MONEY: _Money = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.00")}


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error response (docs/api.md lists the codes)."""

    code = serializers.CharField(help_text="Stable error code, e.g. transition_not_allowed.")
    message = serializers.CharField(help_text="Human message in zh-hans or en (Accept-Language).")
    field = serializers.CharField(allow_null=True, help_text="The input field at fault, for 400s.")
    # A declared field, moved into _declared_fields by DRF's metaclass: Serializer.errors stays the property.
    errors = ErrorItemSerializer(  # type: ignore[assignment]
        many=True, help_text="Every invalid field of a validation error."
    )


# -- orders --------------------------------------------------------------------------------------------


class MomentField(serializers.DateTimeField):
    """A date-time of the shop's business (payment, delivery, a carrier scan): 2000 to 2099. Older moments
    are typing errors, and would be written back with the shop time zone's local mean time offset
    (+08:05:43 before 1901), which is not an RFC 3339 date-time (found by schema fuzzing)."""

    EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
    LATEST = datetime(2100, 1, 1, tzinfo=UTC)

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not self.EARLIEST <= moment < self.LATEST:
            raise serializers.ValidationError(_("Enter a date and time from 2000 to 2099."), code="out_of_range")
        return moment


class BuyerInSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=128, help_text="The buyer's id in the shop.")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    tier = serializers.ChoiceField(choices=BuyerTier.choices, required=False, default=BuyerTier.REGULAR)


class LineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=255)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    unit_price = serializers.DecimalField(**MONEY)
    paid_amount = serializers.DecimalField(**MONEY)


class ShipmentInSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)
    status = serializers.ChoiceField(choices=ShipmentStatus.choices, required=False, default=ShipmentStatus.IN_TRANSIT)
    shipped_at = MomentField(required=False, allow_null=True, default=None)
    delivered_at = MomentField(required=False, allow_null=True, default=None)
    # Province/city, e.g. "浙江省/杭州市": an incident's scope matches on them (incidents.scope).
    origin_region = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    destination_region = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class OrderInSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    paid_at = MomentField()
    delivered_at = MomentField(required=False, allow_null=True, default=None)
    buyer = BuyerInSerializer()
    lines = LineInSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]
    shipments = ShipmentInSerializer(many=True, required=False, default=list, max_length=50)  # type: ignore[call-arg]
    payment_provider = serializers.ChoiceField(
        choices=PaymentProvider.choices,
        required=False,
        default=PaymentProvider.MANUAL,
        help_text="Who refunds the order: the finance queue (manual) or the provider the buyer paid through.",
    )
    shipping_insurance = serializers.BooleanField(
        required=False, default=False, help_text="运费险: a no-fault return's postage is paid by the insurer."
    )


class ShipmentOutSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    direction = serializers.CharField()
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    origin_region = serializers.CharField()
    destination_region = serializers.CharField()


class OrderLineOutSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    paid_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    returnable_quantity = serializers.IntegerField(help_text="Items that can still be returned or exchanged.")
    refundable_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Paid for this line minus refunded (reserved or paid)."
    )
    return_window_ends_at = serializers.DateTimeField(allow_null=True, help_text="Null until delivered.")
    can_return = serializers.BooleanField(help_text="Inside the return window with items left.")


class OrderOutSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.CharField()
    paid_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    buyer_id = serializers.CharField(source="buyer.external_id")
    payment_provider = serializers.CharField()
    shipping_insurance = serializers.BooleanField()
    lines = OrderLineOutSerializer(many=True)
    shipments = ShipmentOutSerializer(many=True)


# -- tickets: opening -----------------------------------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """An input serializer whose plain fields are copied, not rebuilt, for each instance.

    DRF deep-copies the declared fields for every serializer instance, and a field's deep copy calls its
    ``__init__`` again with the original arguments: a third of validating an opening's body. The fields
    declared here keep no state of a validation (``bind`` sets the name and parent on the copy), so a shallow
    copy serves; a nested serializer is still deep-copied, as DRF does (its child is bound to it).
    """

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, f in self._declared_fields.items():
            if isinstance(f, serializers.BaseSerializer):
                fields[name] = copy.deepcopy(f)
            else:
                fields[name] = copy.copy(f)
        return fields


class TicketLineInSerializer(InputSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class _OpenBase(InputSerializer):
    order_number = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ReturnOpenSerializer(_OpenBase):
    lines = TicketLineInSerializer(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]
    reason = serializers.CharField(max_length=64, help_text="A reason code, e.g. seven_days_no_reason.")
    refund_only = serializers.BooleanField(required=False, default=False)
    requested_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        default=None,
        help_text="Defaults to everything still refundable for these lines.",
    )


class ExchangeOpenSerializer(_OpenBase):
    lines = TicketLineInSerializer(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]
    reason = serializers.CharField(max_length=64)
    replacement_sku = serializers.CharField(max_length=64)
    replacement_name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ComplaintOpenSerializer(_OpenBase):
    category = serializers.ChoiceField(choices=ComplaintCategory.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)
    description = serializers.CharField(max_length=5000)
    lines = TicketLineInSerializer(many=True, required=False, default=list, max_length=100)  # type: ignore[call-arg]
    reason = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class LogisticsOpenSerializer(_OpenBase):
    exception_type = serializers.ChoiceField(choices=ExceptionType.choices)
    tracking_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="The order's shipment concerned."
    )
    lines = TicketLineInSerializer(many=True, required=False, default=list, max_length=100)  # type: ignore[call-arg]


# -- tickets: actions -----------------------------------------------------------------------------------


class NoInputSerializer(serializers.Serializer):
    pass


class ReasonOptionalSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReasonRequiredSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ShippingSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)


class ReturnModifySerializer(serializers.Serializer):
    requested_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=5000, required=False, allow_null=True, default=None)


class ExchangeModifySerializer(serializers.Serializer):
    replacement_sku = serializers.CharField(max_length=64, required=False, allow_null=True, default=None)
    description = serializers.CharField(max_length=5000, required=False, allow_null=True, default=None)


class PartialRefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=2000)


class CompensationSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ResolutionSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=5000)


class ClaimNumberSerializer(serializers.Serializer):
    carrier_claim_number = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class CommentInSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class StaffCommentInSerializer(CommentInSerializer):
    public = serializers.BooleanField(required=False, default=False, help_text="Visible to the buyer.")


class AssignInSerializer(serializers.Serializer):
    assignee = serializers.CharField(
        max_length=150, allow_null=True, help_text="A staff member's username, or null to unassign."
    )


class TrackingEventInSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=64)
    tracking_number = serializers.CharField(max_length=64)
    event_id = serializers.CharField(max_length=128, help_text="The carrier's event id (idempotency).")
    occurred_at = MomentField()
    status = serializers.ChoiceField(choices=ShipmentStatus.choices)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TrackingEventOutSerializer(serializers.Serializer):
    event_id = serializers.CharField()
    shipment_status = serializers.CharField()
    created = serializers.BooleanField(help_text="False when this event id was already recorded.")


# -- tickets: output ------------------------------------------------------------------------------------
