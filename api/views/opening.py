"""Storefront endpoints that open a ticket of each kind for the buyer of one of the shop's orders.

Each view validates its kind's input and calls that kind's opening service; the shared ``post`` looks the order
up in the key's shop (another shop's order is 404), honours Idempotency-Key and answers with the new ticket.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from api import selectors
from api import serializers as s
from api import ticket_output as out
from api.idempotency import idempotent
from api.schema import ERRORS, IDEMPOTENCY_HEADER
from api.views.storefront import StorefrontApi
from orders.models import Order, Shipment
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.types import LineRequest


def open_schema(operation_id: str, request: type, *, summary: str | None = None):
    """The OpenAPI description every opening endpoint shares."""
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            request=request,
            parameters=[IDEMPOTENCY_HEADER],
            responses={201: out.TicketDetailOutSerializer, **ERRORS},
            summary=summary,
        )
    )


class _OpenApi(StorefrontApi):
    input_serializer: type = s.ReturnOpenSerializer

    def order(self, number: str) -> Order:
        return selectors.storefront_order(shop=self.shop, number=number)

    def open(self, order, data) -> Ticket:
        raise NotImplementedError

    @idempotent
    def post(self, request: Request) -> Response:
        payload = self.input_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        order = self.order(data["order_number"])
        # The new ticket as the service made it: its kind, order, buyer and reason are already loaded.
        ticket = self.open(order, data)
        return Response(self.ticket_body(ticket), status=status.HTTP_201_CREATED)


def _lines(data) -> list[LineRequest]:
    return [LineRequest(sku=line["sku"], quantity=line["quantity"]) for line in data.get("lines", [])]


@open_schema("return_open", s.ReturnOpenSerializer, summary="Open a return (goods back) or a refund-only request")
class ReturnOpenApi(_OpenApi):
    input_serializer = s.ReturnOpenSerializer

    def open(self, order, data) -> Ticket:
        return services.return_open(
            order=order,
            actor=Actor.for_buyer(order.buyer),
            lines=_lines(data),
            reason_code=data["reason"],
            refund_only=data["refund_only"],
            requested_amount=data["requested_amount"],
            description=data["description"],
        )


@open_schema("exchange_open", s.ExchangeOpenSerializer)
class ExchangeOpenApi(_OpenApi):
    input_serializer = s.ExchangeOpenSerializer

    def open(self, order, data) -> Ticket:
        return services.exchange_open(
            order=order,
            actor=Actor.for_buyer(order.buyer),
            lines=_lines(data),
            reason_code=data["reason"],
            replacement_sku=data["replacement_sku"],
            replacement_name=data["replacement_name"],
            description=data["description"],
        )


@open_schema("complaint_open", s.ComplaintOpenSerializer)
class ComplaintOpenApi(_OpenApi):
    input_serializer = s.ComplaintOpenSerializer

    def open(self, order, data) -> Ticket:
        return services.complaint_open(
            order=order,
            actor=Actor.for_buyer(order.buyer),
            category=data["category"],
            severity=int(data["severity"]),
            description=data["description"],
            lines=_lines(data),
            reason_code=data["reason"] or None,
        )


@open_schema("logistics_open", s.LogisticsOpenSerializer)
class LogisticsOpenApi(_OpenApi):
    input_serializer = s.LogisticsOpenSerializer

    def open(self, order, data) -> Ticket:
        shipment = None
        if data["tracking_number"]:
            shipment = Shipment.objects.filter(order=order, tracking_number=data["tracking_number"]).first()
            if shipment is None:
                from tickets.errors import InvalidLines

                raise InvalidLines(
                    _("Order %(order)s has no shipment with tracking number %(tracking_number)s.")
                    % {"order": order.number, "tracking_number": data["tracking_number"]},
                    field="tracking_number",
                )
        return services.logistics_open(
            order=order,
            actor=Actor.for_buyer(order.buyer),
            exception_type=data["exception_type"],
            shipment=shipment,
            description=data["description"],
            lines=_lines(data),
        )
