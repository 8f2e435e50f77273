"""Storefront endpoints (per-shop API key). Every query is scoped to the key's shop: anything else is 404.

Views check access, call a service, and shape the answer; refusals come back as domain errors that
api.errors maps to HTTP. The storefront acts as the ticket's buyer.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors
from api import serializers as s
from api import ticket_output as out
from api.actions import run_action
from api.auth import IsStorefront
from api.clients import StorefrontClient
from api.idempotency import idempotent
from api.pagination import TicketCursorPagination
from api.schema import ERRORS, IDEMPOTENCY_HEADER, BuyerActionInSerializer, action_parameter
from api.uploads import check_upload
from orders.models import Shop
from orders.services import order_upsert
from orders.types import BuyerData, LineData, OrderData, ShipmentData
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, Ticket
from tickets.selectors import returnable_quantities
from tickets.services.postage import return_postage_record


class StorefrontApi(APIView):
    permission_classes = [IsStorefront]

    @property
    def shop(self) -> Shop:
        client = self.request.user
        if not isinstance(client, StorefrontClient):  # IsStorefront admits nothing else
            raise TypeError(f"A storefront view serves a StorefrontClient, not {type(client).__name__}")
        return client.shop

    def ticket(self, number: str) -> Ticket:
        return selectors.storefront_ticket(shop=self.shop, number=number)

    def ticket_body(self, ticket: Ticket) -> dict:
        lines, events = selectors.answer_rows(ticket, public_only=True)
        context = {
            "actor_for": lambda t: Actor.for_buyer(t.buyer),
            "lines": {ticket.pk: lines},
            "timeline": events,
            "public": True,
        }
        return out.TicketDetailOutSerializer(ticket, context=context).data


def order_body(order) -> dict:
    remaining = returnable_quantities(order)
    window_end = order.return_window_ends_at()
    open_window = window_end is not None and timezone.now() <= window_end
    lines = [
        {
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "paid_amount": line.paid_amount,
            "refunded_amount": line.refunded_amount,
            "returnable_quantity": max(0, remaining.get(line.pk, 0)),
            "refundable_amount": max(Decimal("0.00"), line.paid_amount - line.refunded_amount),
            "return_window_ends_at": window_end,
            "can_return": open_window and remaining.get(line.pk, 0) > 0,
        }
        for line in order.lines.all()
    ]
    data = {
        "number": order.number,
        "status": order.status,
        "paid_at": order.paid_at,
        "delivered_at": order.delivered_at,
        "buyer": order.buyer,
        "payment_provider": order.payment_provider,
        "shipping_insurance": order.shipping_insurance,
        "lines": lines,
        "shipments": list(order.shipments.all()),
    }
    return s.OrderOutSerializer(data).data


class OrderApi(StorefrontApi):
    """Upsert (PUT, idempotent by order number) and read an order of the key's shop."""

    @extend_schema(
        operation_id="order_upsert",
        request=s.OrderInSerializer,
        responses={200: s.OrderOutSerializer, 201: s.OrderOutSerializer, **ERRORS},
        summary="Create or update an order by its number (idempotent)",
    )
    def put(self, request: Request, number: str) -> Response:
        payload = s.OrderInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        data = OrderData(
            number=number,
            status=d["status"],
            paid_at=d["paid_at"],
            delivered_at=d["delivered_at"],
            payment_provider=d["payment_provider"],
            shipping_insurance=d["shipping_insurance"],
            buyer=BuyerData(
                external_id=d["buyer"]["id"],
                name=d["buyer"]["name"],
                phone=d["buyer"]["phone"],
                email=d["buyer"]["email"],
                tier=d["buyer"]["tier"],
            ),
            lines=[LineData(**line) for line in d["lines"]],
            shipments=[ShipmentData(**shipment) for shipment in d["shipments"]],
        )
        result = order_upsert(shop=self.shop, data=data)
        order = selectors.order_for_shop(shop=self.shop, number=number)
        return Response(order_body(order), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(operation_id="order_retrieve", responses={200: s.OrderOutSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return Response(order_body(selectors.order_for_shop(shop=self.shop, number=number)))


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC. Python reads offsets up to ±23:59 but PostgreSQL refuses more than
    ±15:59 (a 500 found by schema fuzzing); a moment outside years 1–9999 in UTC is invalid input."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt.UTC)
        except OverflowError as exc:
            raise DjangoValidationError(self.error_messages["invalid"], code="invalid") from exc


class UtcIsoDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class TicketFilter(filters.FilterSet):
    order = filters.CharFilter(field_name="order__number", help_text="Order number.")
    buyer = filters.CharFilter(field_name="buyer__external_id", help_text="The buyer's id in the shop.")
    kind = filters.ChoiceFilter(choices=[(kind, kind) for kind in ("return", "exchange", "complaint", "logistics")])
    state = filters.CharFilter(field_name="state")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Ticket
        fields: list[str] = []


class TicketListApi(StorefrontApi):
    pagination_class = TicketCursorPagination

    @extend_schema(
        operation_id="ticket_list",
        parameters=[
            OpenApiParameter("order", str),
            OpenApiParameter("buyer", str),
            OpenApiParameter("kind", str, enum=["return", "exchange", "complaint", "logistics"]),
            OpenApiParameter("state", str),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="ISO 8601 date-time"),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="ISO 8601 date-time"),
            OpenApiParameter("cursor", str),
            OpenApiParameter("page_size", int, description="1–100, default 20"),
        ],
        responses={200: out.TicketOutSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        tickets = selectors.storefront_page(shop=self.shop)
        if any(name in request.query_params for name in TicketFilter.base_filters):
            filtered = TicketFilter(request.query_params, queryset=tickets)
            if not filtered.is_valid():
                raise ValidationError(filtered.errors)
            tickets = filtered.qs
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(tickets, request, view=self)
        if page is None:  # only without a page size, and the cursor pagination has one
            raise TypeError("TicketCursorPagination has no page size")
        loaded = selectors.storefront_page_tickets(page, shop=self.shop)
        context = {
            "actor_for": lambda t: Actor.for_buyer(t.buyer),
            "lines": selectors.lines_by_ticket(loaded),
            "public": True,
        }
        return paginator.get_paginated_response(out.TicketOutSerializer(loaded, many=True, context=context).data)


class TicketDetailApi(StorefrontApi):
    @extend_schema(operation_id="ticket_retrieve", responses={200: out.TicketDetailOutSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return Response(self.ticket_body(self.ticket(number)))


class TicketActionApi(StorefrontApi):
    """A buyer action: cancel, ship_back, modify, escalate, accept_rejection, accept_resolution,
    confirm_receipt, reopen, confirm — whichever the ticket's state allows (see the ticket's ``actions``)."""

    @extend_schema(
        operation_id="ticket_buyer_action",
        request=BuyerActionInSerializer,
        parameters=[IDEMPOTENCY_HEADER, action_parameter("action")],
        responses={200: out.TicketDetailOutSerializer, **ERRORS},
        description="Body fields depend on the action: `reason`, `carrier` + `tracking_number`, "
        "`requested_amount`/`description` (modify). Unneeded fields are ignored.",
    )
    @idempotent
    def post(self, request: Request, number: str, action: str) -> Response:
        ticket = self.ticket(number)
        updated = run_action(ticket=ticket, actor=Actor.for_buyer(ticket.buyer), name=action, data=request.data)
        return Response(self.ticket_body(updated))


class TicketCommentApi(StorefrontApi):
    @extend_schema(
        operation_id="ticket_comment",
        request=s.CommentInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: out.TimelineEventSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        payload = s.CommentInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        event = services.ticket_comment_add(
            ticket=ticket, actor=Actor.for_buyer(ticket.buyer), body=payload.validated_data["body"], public=True
        )
        body = out.TimelineEventSerializer(event, context={"public": True}).data
        return Response(body, status=status.HTTP_201_CREATED)


class PostageInSerializer(s.serializers.Serializer):
    amount = s.serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="What the buyer paid to send the goods back (yuan)."
    )
    proof = s.serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The id of the evidence (a receipt) uploaded to this ticket; needed when the shop pays.",
    )


class TicketPostageApi(StorefrontApi):
    @extend_schema(
        operation_id="ticket_return_postage",
        request=PostageInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: out.TicketDetailOutSerializer, **ERRORS},
        description=(
            "Record the buyer's return postage. Who pays follows the reason (docs/money.md): the shop refunds it "
            "on proof up to its cap when the return is its fault; otherwise the buyer, or the shipping insurance."
        ),
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        payload = PostageInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        proof_id = payload.validated_data.get("proof")
        proof = Attachment.objects.filter(pk=proof_id, ticket_id=ticket.pk).first() if proof_id else None
        if proof_id and proof is None:
            raise ValidationError({"proof": [_("No evidence %(id)s on this ticket.") % {"id": proof_id}]})
        updated = return_postage_record(
            ticket=ticket, amount=payload.validated_data["amount"], proof=proof, actor=Actor.for_buyer(ticket.buyer)
        )
        return Response(self.ticket_body(updated))


class AttachmentOutSerializer(s.serializers.Serializer):
    """A piece of the buyer's evidence; ``url`` downloads it with the shop's key (api.views.evidence)."""

    id = s.serializers.IntegerField()
    name = s.serializers.CharField(source="original_name")
    content_type = s.serializers.CharField()
    size = s.serializers.IntegerField()
    created_at = s.serializers.DateTimeField()
    url = s.serializers.SerializerMethodField()

    def get_url(self, attachment: Attachment) -> str:
        return reverse(
            "api:ticket-evidence-file", kwargs={"number": self.context["number"], "attachment_id": attachment.pk}
        )


class EvidenceInSerializer(s.serializers.Serializer):
    file = s.serializers.FileField(help_text="JPEG, PNG, WebP (≤ 10 MB) or MP4 (≤ 50 MB).")


class TicketEvidenceApi(StorefrontApi):
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="ticket_evidence_upload",
        request={"multipart/form-data": EvidenceInSerializer},
        responses={
            201: AttachmentOutSerializer,
            413: OpenApiResponse(s.ErrorSerializer, description="Larger than the limit of its type."),
            415: OpenApiResponse(
                s.ErrorSerializer,
                description="Not a JPEG, PNG, WebP or MP4 (by its content), a name that says another type, "
                "or a file that is also HTML, script, an archive or a PDF.",
            ),
            **ERRORS,
        },
    )
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        upload = request.FILES.get("file")
        if upload is None:
            from tickets.errors import FieldRequired

            raise FieldRequired(_("Send the evidence as the multipart field 'file'."), field="file")
        with transaction.atomic():
            existing = Attachment.objects.filter(ticket_id=ticket.pk).count()
            content_type = check_upload(upload, existing=existing)
            attachment = services.ticket_evidence_attach(
                ticket=ticket,
                actor=Actor.for_buyer(ticket.buyer),
                file=upload,
                original_name=upload.name or "evidence",
                content_type=content_type,
            )
        body = AttachmentOutSerializer(attachment, context={"number": ticket.number}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="ticket_evidence_list", responses={200: AttachmentOutSerializer(many=True), **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        """The buyer's evidence on the ticket (internal attachments are staff's)."""
        ticket = self.ticket(number)
        found = Attachment.objects.filter(ticket_id=ticket.pk, public=True).order_by("created_at", "pk")
        return Response(AttachmentOutSerializer(found, many=True, context={"number": ticket.number}).data)
