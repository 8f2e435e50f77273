"""The storefront's way to answer an incident for a buyer: the same choice as the signed link's page
(incidents.views), through the same service (``incidents.answers.incident_answer``).

An answer is not one transition: it runs the ticket's declared transitions the incident's offer stands for
(incidents.paths), so it has an endpoint of its own beside the ticket's buyer actions instead of a new declared
action. Scoped like every storefront endpoint: a ticket of another shop, or one no incident has, is 404.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import idempotent
from api.schema import ERRORS, IDEMPOTENCY_HEADER
from api.views.storefront import StorefrontApi
from incidents.answers import answer_offers, incident_answer
from incidents.models import IncidentOffer, IncidentTicket
from incidents.reasons import text_in
from tickets.errors import TicketNotFound
from tickets.models import Ticket


class IncidentAnswerInSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=IncidentOffer.choices, help_text="One of the ticket's `offers`.")


class IncidentAnswerOutSerializer(serializers.Serializer):
    incident = serializers.CharField(help_text="The incident's title.")
    message = serializers.DictField(child=serializers.CharField(), help_text="The buyers' message per language.")
    expected_delivery_date = serializers.DateField(allow_null=True)
    offers = serializers.ListField(child=serializers.CharField(), help_text="What the buyer may choose now.")
    compensation_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    alternative_sku = serializers.CharField(allow_blank=True)
    answer = serializers.CharField(allow_blank=True, help_text="The buyer's answer, once given (final).")
    answered_at = serializers.DateTimeField(allow_null=True)
    ticket_state = serializers.CharField()
    status = serializers.CharField(help_text="The incident's status: running or closed.")


class IncidentAnswerApi(StorefrontApi):
    """The incident a ticket belongs to, what its buyer may choose, and their answer."""

    def _affected(self, number: str) -> tuple[IncidentTicket, Ticket]:
        ticket = self.ticket(number)
        affected = IncidentTicket.objects.select_related("incident").filter(ticket_id=ticket.pk).first()
        if affected is None:
            raise TicketNotFound(_("Ticket %(number)s belongs to no incident.") % {"number": number})
        return affected, ticket

    def _body(self, affected: IncidentTicket, ticket: Ticket) -> dict[str, Any]:
        incident = affected.incident
        return IncidentAnswerOutSerializer(
            {
                "incident": incident.title,
                "message": {code: text_in(incident.message, code) for code in incident.message or {}},
                "expected_delivery_date": incident.expected_delivery_date,
                "offers": answer_offers(affected, ticket),
                "compensation_amount": incident.compensation_amount,
                "alternative_sku": incident.alternative_sku,
                "answer": affected.answer,
                "answered_at": affected.answered_at,
                "ticket_state": ticket.state,
                "status": incident.status,
            }
        ).data

    @extend_schema(operation_id="ticket_incident_retrieve", responses={200: IncidentAnswerOutSerializer, **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        return Response(self._body(*self._affected(number)))

    @extend_schema(
        operation_id="ticket_incident_answer",
        request=IncidentAnswerInSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: IncidentAnswerOutSerializer, **ERRORS},
        description="The buyer's choice among the incident's offers; final (a second answer is 409 "
        "`incident_already_answered`). It moves the ticket: compensation, exchange or refund.",
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        affected, _ticket = self._affected(number)
        payload = IncidentAnswerInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        incident_answer(affected_id=affected.pk, choice=payload.validated_data["answer"])
        return Response(self._body(*self._affected(number)))
