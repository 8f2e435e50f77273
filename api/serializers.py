"""Input and output shapes of the API. Serializers validate and shape data; they never change anything
(views call services). Output serializers read what selectors loaded, so they add no queries per row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from orders.models import BuyerTier, OrderStatus, ShipmentStatus
from tickets.models import Ticket, TicketEvent
from tickets.workflows.complaint import ComplaintCategory, Severity
from tickets.workflows.logistics import ExceptionType

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.00")}


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error response (docs/api.md lists the codes)."""

    code = serializers.CharField(help_text="Stable error code, e.g. transition_not_allowed.")
    message = serializers.CharField(help_text="Human message in zh-hans or en (Accept-Language).")
    field = serializers.CharField(allow_null=True, help_text="The input field at fault, for 400s.")
    errors = ErrorItemSerializer(many=True, help_text="Every invalid field of a validation error.")


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


class OrderInSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    paid_at = MomentField()
    delivered_at = MomentField(required=False, allow_null=True, default=None)
    buyer = BuyerInSerializer()
    lines = LineInSerializer(many=True, allow_empty=False, max_length=500)
    shipments = ShipmentInSerializer(many=True, required=False, default=list, max_length=50)


class ShipmentOutSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    direction = serializers.CharField()
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)


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
    lines = OrderLineOutSerializer(many=True)
    shipments = ShipmentOutSerializer(many=True)


# -- tickets: opening -----------------------------------------------------------------------------------


class TicketLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class _OpenBase(serializers.Serializer):
    order_number = serializers.CharField(max_length=64)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ReturnOpenSerializer(_OpenBase):
    lines = TicketLineInSerializer(many=True, allow_empty=False, max_length=100)
    reason = serializers.CharField(max_length=64, help_text="A reason code, e.g. seven_days_no_reason.")
    refund_only = serializers.BooleanField(required=False, default=False)
    requested_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True, default=None,
        help_text="Defaults to everything still refundable for these lines.",
    )


class ExchangeOpenSerializer(_OpenBase):
    lines = TicketLineInSerializer(many=True, allow_empty=False, max_length=100)
    reason = serializers.CharField(max_length=64)
    replacement_sku = serializers.CharField(max_length=64)
    replacement_name = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class ComplaintOpenSerializer(_OpenBase):
    category = serializers.ChoiceField(choices=ComplaintCategory.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.MEDIUM)
    description = serializers.CharField(max_length=5000)
    lines = TicketLineInSerializer(many=True, required=False, default=list, max_length=100)
    reason = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class LogisticsOpenSerializer(_OpenBase):
    exception_type = serializers.ChoiceField(choices=ExceptionType.choices)
    tracking_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="The order's shipment concerned."
    )
    lines = TicketLineInSerializer(many=True, required=False, default=list, max_length=100)


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


class ActionSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    needs = serializers.ListField(child=serializers.CharField())


class FastOutput:
    """An output serializer whose ``to_representation`` builds the row by hand: the declared fields still
    describe it (OpenAPI schema), but a page of tickets no longer pays DRF's per-field machinery on every row.

    ``values`` returns every declared field's value; the answer keeps the declared order. A test compares
    each with DRF's own field-by-field rendering, so the two cannot drift apart.
    """

    def values(self, instance) -> dict:
        raise NotImplementedError

    def to_representation(self, instance) -> dict:
        values = self.values(instance)
        return {name: values[name] for name in self._declared_fields}


class TimelineEventSerializer(FastOutput, serializers.Serializer):
    type = serializers.CharField(source="event_type")
    at = serializers.DateTimeField(source="created_at")
    actor = serializers.CharField(source="actor_kind")
    actor_name = serializers.SerializerMethodField()
    transition = serializers.CharField()
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    reason = serializers.CharField()
    public = serializers.BooleanField()

    def get_actor_name(self, event: TicketEvent) -> str:
        # Buyers and storefronts see roles, not staff names (nor the staff account an integration used).
        if self.context.get("public") and event.actor_kind in ("staff", "integration"):
            return event.actor_kind
        return event.actor_name

    def values(self, event: TicketEvent) -> dict:
        return {
            "type": event.event_type,
            "at": _moment(event.created_at),
            "actor": event.actor_kind,
            "actor_name": self.get_actor_name(event),
            "transition": event.transition,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event.reason,
            "public": bool(event.public),
        }


class TicketLineOutSerializer(FastOutput, serializers.Serializer):
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    quantity = serializers.IntegerField()
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    def values(self, line) -> dict:
        return {
            "sku": line.order_line.sku,
            "name": line.order_line.name,
            "quantity": line.quantity,
            "refunded_amount": _money(line.refunded_amount),
        }


class TicketOutSerializer(FastOutput, serializers.Serializer):
    """A ticket as the storefront sees it. Kind-specific data sits under the kind's name."""

    number = serializers.CharField()
    kind = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.SerializerMethodField()
    order_number = serializers.CharField(source="order.number")
    buyer_id = serializers.CharField(source="buyer.external_id")
    reason = serializers.SerializerMethodField()
    description = serializers.CharField()
    waiting_on = serializers.CharField()
    due_at = serializers.SerializerMethodField(help_text="The current step's due time (null in end states).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()
    lines = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField(help_text="What the caller may do now.")

    def get_state_label(self, ticket: Ticket) -> str:
        return ticket.state_label()

    def get_reason(self, ticket: Ticket) -> str | None:
        return ticket.reason_code

    def get_due_at(self, ticket: Ticket) -> str | None:
        return _moment(ticket.step_due_at or ticket.due_at)

    def get_lines(self, ticket: Ticket) -> list[dict]:
        line_out = TicketLineOutSerializer()
        return [line_out.to_representation(line) for line in self.context.get("lines", {}).get(ticket.pk, [])]

    def get_details(self, ticket: Ticket) -> dict:
        return kind_details(ticket)

    def get_actions(self, ticket: Ticket) -> list[dict]:
        from api.actions import available_actions

        return available_actions(ticket, self.context["actor_for"](ticket))

    def values(self, ticket: Ticket) -> dict:
        return {
            "number": ticket.number,
            "kind": ticket.kind,
            "state": ticket.state,
            "state_label": self.get_state_label(ticket),
            "order_number": ticket.order.number,
            "buyer_id": ticket.buyer.external_id,
            "reason": self.get_reason(ticket),
            "description": ticket.description,
            "waiting_on": ticket.waiting_on,
            "due_at": self.get_due_at(ticket),
            "created_at": _moment(ticket.created_at),
            "updated_at": _moment(ticket.updated_at),
            "closed_at": _moment(ticket.closed_at),
            "version": ticket.version,
            "lines": self.get_lines(ticket),
            "details": self.get_details(ticket),
            "actions": self.get_actions(ticket),
        }


class TicketDetailOutSerializer(TicketOutSerializer):
    timeline = serializers.SerializerMethodField()

    def get_timeline(self, ticket: Ticket) -> list[dict]:
        event_out = TimelineEventSerializer(context=self.context)
        return [event_out.to_representation(event) for event in self.context.get("timeline", [])]

    def values(self, ticket: Ticket) -> dict:
        return {**super().values(ticket), "timeline": self.get_timeline(ticket)}


class StaffTicketOutSerializer(TicketOutSerializer):
    department = serializers.CharField(allow_null=True)
    assignee = serializers.SerializerMethodField()
    priority = serializers.IntegerField()
    sla_breached = serializers.BooleanField()
    shop = serializers.CharField(source="shop.code")

    def get_assignee(self, ticket: Ticket) -> str | None:
        return ticket.assignee.get_username() if ticket.assignee_id and ticket.assignee else None

    def values(self, ticket: Ticket) -> dict:
        return {
            **super().values(ticket),
            "department": ticket.department,
            "assignee": self.get_assignee(ticket),
            "priority": ticket.priority,
            "sla_breached": bool(ticket.sla_breached),
            "shop": ticket.shop.code,
        }


class StaffTicketDetailOutSerializer(StaffTicketOutSerializer, TicketDetailOutSerializer):
    pass


def _moment(value: datetime | None) -> str | None:
    """A date-time as every DateTimeField of the API writes it: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _shipment(shipment) -> dict | None:
    if shipment is None:
        return None
    return {"carrier": shipment.carrier, "tracking_number": shipment.tracking_number, "status": shipment.status}


def kind_details(ticket: Ticket) -> dict:
    """The kind's own data (tickets are loaded as their kind by the selectors)."""
    if ticket.kind == "return":
        return {
            "refund_only": ticket.refund_only,
            "requested_amount": _money(ticket.requested_amount),
            "approved_amount": _money(ticket.approved_amount),
            "return_shipment": _shipment(ticket.return_shipment),
        }
    if ticket.kind == "exchange":
        return {
            "replacement_sku": ticket.replacement_sku,
            "replacement_name": ticket.replacement_name,
            "return_shipment": _shipment(ticket.return_shipment),
            "replacement_shipment": _shipment(ticket.replacement_shipment),
        }
    if ticket.kind == "complaint":
        return {
            "category": ticket.category,
            "severity": ticket.severity,
            "resolution": ticket.resolution,
            "reopen_count": ticket.reopen_count,
        }
    if ticket.kind == "logistics":
        return {
            "exception_type": ticket.exception_type,
            "shipment": _shipment(ticket.shipment),
            "carrier_claim_number": ticket.carrier_claim_number,
            "compensation_amount": _money(ticket.compensation_amount),
            "outcome": ticket.outcome,
        }
    return {}


def now_iso() -> str:
    return timezone.now().isoformat()
