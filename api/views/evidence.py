"""Evidence downloads and lists, for the storefront (the ticket's shop key: the buyer's public evidence) and for
staff (their department scope: every piece). The only way evidence leaves kefu: MEDIA is never served publicly.

The ticket is found in the caller's scope first (another shop's or department's ticket is 404, as everywhere),
then the attachment among that ticket's; the file is streamed from the storage with the headers of
``kefu.core.evidence_files.file_response``.
"""

from __future__ import annotations

from django.http import Http404, HttpResponseBase
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api import serializers as s
from api.schema import ERRORS
from api.views.staff import StaffApi
from api.views.storefront import StorefrontApi
from kefu.core.evidence_files import EVIDENCE_TYPES, display_name, file_response
from tickets.models import Attachment, Ticket


class EvidenceOutSerializer(s.serializers.Serializer):
    """A piece of evidence; ``url`` downloads it with the same credentials."""

    id = s.serializers.IntegerField()
    name = s.serializers.CharField(source="original_name")
    content_type = s.serializers.CharField()
    size = s.serializers.IntegerField()
    public = s.serializers.BooleanField()
    created_at = s.serializers.DateTimeField()
    url = s.serializers.SerializerMethodField()

    def get_url(self, attachment: Attachment) -> str:
        url_name = self.context.get("url_name", "api:ticket-evidence-file")
        return reverse(url_name, kwargs={"number": self.context["number"], "attachment_id": attachment.pk})


def evidence_of(ticket: Ticket, *, public_only: bool) -> list[Attachment]:
    found = Attachment.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk")
    return list(found.filter(public=True) if public_only else found)


def evidence_download(ticket: Ticket, attachment_id: int, *, public_only: bool) -> HttpResponseBase:
    lookup = Attachment.objects.filter(ticket_id=ticket.pk, pk=attachment_id)
    attachment = (lookup.filter(public=True) if public_only else lookup).first()
    if attachment is None:
        raise Http404
    try:
        stored = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return file_response(
        stored,
        filename=display_name(attachment.original_name, attachment.content_type),
        content_type=attachment.content_type,
        size=attachment.size,
    )


# The file, as an attachment, with its sniffed type: one of the accepted evidence types.
DOWNLOAD = {
    (200, media_type): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
    for media_type in sorted(EVIDENCE_TYPES)
}


class TicketEvidenceFileApi(StorefrontApi):
    @extend_schema(operation_id="ticket_evidence_download", responses={**DOWNLOAD, **ERRORS})
    def get(self, request: Request, number: str, attachment_id: int) -> HttpResponseBase:
        return evidence_download(self.ticket(number), attachment_id, public_only=True)


class StaffEvidenceListApi(StaffApi):
    @extend_schema(operation_id="staff_ticket_evidence", responses={200: EvidenceOutSerializer(many=True), **ERRORS})
    def get(self, request: Request, number: str) -> Response:
        ticket = self.ticket(number)
        context = {"number": ticket.number, "url_name": "api:staff-ticket-evidence-file"}
        return Response(EvidenceOutSerializer(evidence_of(ticket, public_only=False), many=True, context=context).data)


class StaffEvidenceFileApi(StaffApi):
    @extend_schema(operation_id="staff_ticket_evidence_download", responses={**DOWNLOAD, **ERRORS})
    def get(self, request: Request, number: str, attachment_id: int) -> HttpResponseBase:
        return evidence_download(self.ticket(number), attachment_id, public_only=False)
