"""The ticket page's evidence: each file downloaded through a scoped view (MEDIA is never served publicly), and
files staff attach from the page, checked as the API checks an upload. ``TicketEvidenceMixin`` is one of
``TicketAdmin``'s bases; its attach goes through the ticket page's ``_act`` (desk.admin.ticket_page), as every
button's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.utils.translation import gettext as _

from desk.admin.access import request_actor, visible_tickets
from desk.admin.forms import EvidenceForm
from kefu.core.evidence_files import display_name, file_response, upload_check
from tickets import services
from tickets.models import Attachment, Ticket


class TicketEvidenceMixin:
    """The evidence endpoints of the ticket page, for ``TicketAdmin``."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("<path:object_id>/attach/", wrap(self.attach_view), name="tickets_ticket_attach"),
            path(
                "<path:object_id>/evidence/<int:attachment_id>/",
                wrap(self.evidence_view),
                name="tickets_ticket_evidence",
            ),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def evidence_view(self, request: HttpRequest, object_id: str, attachment_id: int) -> HttpResponseBase:
        """A piece of the ticket's evidence, for whoever may see the ticket (the staff API's scope); else 404.

        The only way the admin shows evidence: MEDIA is never served publicly (kefu.core.evidence_files).
        """
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        try:
            ticket_pk = int(object_id)
        except ValueError:
            raise Http404 from None
        attachment = Attachment.objects.filter(
            pk=attachment_id, ticket_id=ticket_pk, ticket__in=visible_tickets(request)
        ).first()
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

    def attach_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Staff attach a file to the ticket: the API's checks (type from the content, size and count limits,
        kefu.core.evidence_files.upload_check), then ``ticket_evidence_attach``."""
        actor = request_actor(request)

        def work(ticket: Ticket, form: forms.Form) -> str:
            upload = form.cleaned_data["file"]
            with transaction.atomic():
                existing = Attachment.objects.filter(ticket_id=ticket.pk).count()
                content_type = upload_check(upload, existing=existing)
                attachment = services.ticket_evidence_attach(
                    ticket=ticket,
                    actor=actor,
                    file=upload,
                    original_name=upload.name or "evidence",
                    content_type=content_type,
                    public=form.cleaned_data["public"],
                )
            return _("%(name)s attached to ticket %(number)s.") % {
                "name": attachment.original_name,
                "number": ticket.number,
            }

        return self._act(  # type: ignore[attr-defined]
            request,
            object_id,
            label=_("Attach evidence"),
            form_class=lambda data: EvidenceForm(data, request.FILES),
            work=work,
            versioned=False,
        )


def with_download_urls(ticket: Ticket, attachments: Any) -> list[Attachment]:
    """The attachments, each with ``download_url``: the scoped evidence view (never a MEDIA URL)."""
    found = list(attachments)
    for attachment in found:
        attachment.download_url = reverse("admin:tickets_ticket_evidence", args=[quote(ticket.pk), attachment.pk])
    return found
