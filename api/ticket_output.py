"""The ticket as the API answers it: rows, lines, timeline entries and the kind's own details.

Each output serializer declares its fields (they make the OpenAPI schema) and builds its rows by hand
(``FastOutput``); it reads what the selectors loaded, so it adds no queries per row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from tickets.models import ComplaintTicket, ExchangeTicket, LogisticsTicket, ReturnTicket, Ticket, TicketEvent
from tickets.wording import actor_label, buyer_state_label, event_reason


class FastOutput:
    """An output serializer whose ``to_representation`` builds the row by hand: the declared fields still
    describe it (OpenAPI schema), but a page of tickets no longer pays DRF's per-field machinery on every row.

    ``values`` returns every declared field's value; the answer keeps the declared order. A test compares
    each with DRF's own field-by-field rendering, so the two cannot drift apart.
    """

    _declared_fields: dict[str, serializers.Field]  # the Serializer this is mixed into declares them

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
    reason = serializers.SerializerMethodField()
    public = serializers.BooleanField()

    def get_actor_name(self, event: TicketEvent) -> str:
        # Buyers and storefronts see roles, not staff names (nor the staff account an integration used).
        if self.context.get("public") and event.actor_kind in ("staff", "integration"):
            return event.actor_kind
        if event.actor_kind == "system":  # the sweep, the payment task …: named in the caller's language
            return actor_label(event.actor_name)
        return event.actor_name

    def get_reason(self, event: TicketEvent) -> str:
        return event_reason(event)

    def values(self, event: TicketEvent) -> dict:
        return {
            "type": event.event_type,
            "at": _moment(event.created_at),
            "actor": event.actor_kind,
            "actor_name": self.get_actor_name(event),
            "transition": event.transition,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event_reason(event),
            "public": bool(event.public),
        }


class TicketLineOutSerializer(FastOutput, serializers.Serializer):
    """A ticket line as ``api.selectors.lines_by_ticket`` reads it (a ``ShownLine``)."""

    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    refunded_amount = serializers.DecimalField(max_digits=12, decimal_places=2)

    def values(self, line) -> dict:
        return {
            "sku": line.sku,
            "name": line.name,
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
        # The buyer's wording (a refund approved and being paid); staff read the desk's (StaffTicketOutSerializer).
        return buyer_state_label(ticket.kind, ticket.state)

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

    def get_state_label(self, ticket: Ticket) -> str:
        return ticket.state_label()

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
    if isinstance(ticket, ReturnTicket):
        return {
            "refund_only": ticket.refund_only,
            "requested_amount": _money(ticket.requested_amount),
            "approved_amount": _money(ticket.approved_amount),
            "return_shipment": _shipment(ticket.return_shipment),
            # 协商: what the merchant offers instead (the buyer answers with accept_offer / decline_offer).
            "offered_amount": _money(ticket.offered_amount),
            "offer": ticket.offer,
            # Who pays the return postage and what the shop refunds of it (tickets.services.postage).
            "return_postage": _money(ticket.return_postage),
            "return_postage_paid_by": ticket.return_postage_payer or None,
            "return_postage_refunded": _money(ticket.return_postage_refund),
            "return_postage_proof": ticket.return_postage_proof_id,
        }
    if isinstance(ticket, ExchangeTicket):
        return {
            "replacement_sku": ticket.replacement_sku,
            "replacement_name": ticket.replacement_name,
            "return_shipment": _shipment(ticket.return_shipment),
            "replacement_shipment": _shipment(ticket.replacement_shipment),
        }
    if isinstance(ticket, ComplaintTicket):
        return {
            "category": ticket.category,
            "severity": ticket.severity,
            "resolution": ticket.resolution,
            "reopen_count": ticket.reopen_count,
        }
    if isinstance(ticket, LogisticsTicket):
        return {
            "exception_type": ticket.exception_type,
            "shipment": _shipment(ticket.shipment),
            "carrier_claim_number": ticket.carrier_claim_number,
            "compensation_amount": _money(ticket.compensation_amount),
            "outcome": ticket.outcome,
        }
    # Every kind has details: a ticket reaching here was not loaded as its kind (an error before too).
    raise TypeError(f"Ticket {ticket.number} ({ticket.kind}) is not loaded as its kind's model")
