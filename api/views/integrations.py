"""Machines reporting what happened: carrier tracking feeds and the warehouse system.

They authenticate as staff users (tokens) and act as integrations on the timeline. A tracking event is
recorded once per carrier event id; "parcel received" runs the ticket's ``receive`` transition.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api import ticket_output as out
from api.idempotency import idempotent
from api.schema import ERRORS, IDEMPOTENCY_HEADER
from api.views.staff import StaffApi
from orders.selectors import shipment_get_by_tracking
from orders.shipments import shipment_record_event
from tickets import services
from tickets.actors import Actor
from tickets.errors import NotPermitted, TransitionNotAllowed


class TrackingEventApi(StaffApi):
    @extend_schema(
        operation_id="tracking_event_record",
        request=s.TrackingEventInSerializer,
        responses={201: s.TrackingEventOutSerializer, 200: s.TrackingEventOutSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        if not ({"logistics", "warehouse", "supervisors"} & self.actor.departments):
            raise NotPermitted(_("Tracking events come from logistics or warehouse integrations."))
        payload = s.TrackingEventInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        shipment = shipment_get_by_tracking(carrier=d["carrier"], tracking_number=d["tracking_number"])
        event, created = shipment_record_event(
            shipment=shipment,
            event_id=d["event_id"],
            occurred_at=d["occurred_at"],
            status=d["status"],
            location=d["location"],
            description=d["description"],
        )
        shipment.refresh_from_db(fields=["status"])
        body = {"event_id": event.event_id, "shipment_status": shipment.status, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ParcelReceivedApi(StaffApi):
    """The warehouse system scanned a return parcel in: the return or exchange moves to ``received``."""

    @extend_schema(
        operation_id="parcel_received",
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: out.StaffTicketDetailOutSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        actor = Actor.integration(f"warehouse system ({request.user.get_username()})")
        if ticket.kind not in ("return", "exchange"):
            # Translators: %(kind)s is the kind's code: complaint or logistics.
            raise TransitionNotAllowed(
                _("Ticket %(number)s is a %(kind)s; no parcel comes back for it.")
                % {"number": ticket.number, "kind": ticket.kind}
            )
        updated = services.ticket_act(ticket=ticket, actor=actor, action="receive")
        return Response(self.ticket_body(updated))
