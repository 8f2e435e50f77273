"""The incident's own pages and buttons, for ``IncidentAdmin``: the preview with its Start, the polled progress, the
extension of the internal deadlines and the closing.

Each button posts to its view, which checks the permission (``incidents.change_incident``) and the status, calls
the one service (incidents.services / incidents.progress) as the logged-in staff member, and comes back to the
incident's page with what happened, in the user's language. A refusal of the service (``DomainError``) is shown
as it is; nothing is half-done, the services are atomic.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from desk.admin.access import request_actor
from desk.admin.incidents.display import scope_in_words
from desk.admin.incidents.forms import CloseForm, ExtendForm, StartForm
from incidents.closing import incident_close
from incidents.models import Incident, IncidentOffer, IncidentStatus
from incidents.progress import incident_progress
from incidents.scope import incident_preview
from incidents.services import ExtendResult, incident_deadlines_extend, incident_start
from kefu.core.errors import DomainError

PREVIEW_SAMPLE = 20


def poll_seconds() -> int:
    """How often the incident's page asks for fresh figures (``KEFU_INCIDENT_POLL_SECONDS``)."""
    return max(1, int(settings.KEFU_INCIDENT_POLL_SECONDS))


def flagged_tickets_url(incident: Incident) -> str:
    """The queue, narrowed to the incident's tickets whose platform clock runs out first
    (desk.admin.filters.IncidentFilter, IncidentFlaggedFilter)."""
    return f"{reverse('admin:tickets_ticket_changelist')}?incident={incident.pk}&incident_flagged=yes"


def tickets_url(incident: Incident) -> str:
    return f"{reverse('admin:tickets_ticket_changelist')}?incident={incident.pk}"


def progress_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """The figures of the progress panel and where it polls (while they can still change)."""
    progress = incident_progress(incident)
    labels = dict(IncidentOffer.choices)
    # Polled while something still moves: a running incident, and a closed one until every buyer got the final
    # message (the closing goes out at the telling's rate, incidents.messaging).
    live = incident.status == IncidentStatus.RUNNING or (
        incident.status == IncidentStatus.CLOSED and progress.closing_told < progress.matched
    )
    return {
        "incident": incident,
        "progress": progress,
        "answers": [(labels[offer], count) for offer, count in progress.answers.items() if count],
        "flagged_url": flagged_tickets_url(incident),
        "tickets_url": tickets_url(incident),
        "poll_url": reverse("admin:incidents_incident_progress", args=[incident.pk]) if live else "",
        "poll_seconds": poll_seconds(),
        "extend_form": ExtendForm(),
        "close_form": CloseForm(),
    }


class IncidentPagesMixin:
    """URLs and views of the incident's page beyond Django's own (see the module docstring)."""

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("<int:object_id>/preview/", wrap(self.preview_view), name="incidents_incident_preview"),
            path("<int:object_id>/start/", wrap(self.start_view), name="incidents_incident_start"),
            path("<int:object_id>/progress/", wrap(self.progress_view), name="incidents_incident_progress"),
            path("<int:object_id>/extend/", wrap(self.extend_view), name="incidents_incident_extend"),
            path("<int:object_id>/close/", wrap(self.close_view), name="incidents_incident_close"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    # -- helpers ------------------------------------------------------------------------------------------------

    def _incident(self, request: HttpRequest, object_id: int, *, change: bool) -> Incident:
        incident = Incident.objects.filter(pk=object_id).first()
        if incident is None:
            raise Http404
        allowed = (
            self.has_change_permission(request, incident)  # type: ignore[attr-defined]
            if change
            else self.has_view_permission(request, incident)  # type: ignore[attr-defined]
        )
        if not allowed:
            raise PermissionDenied
        return incident

    def _page(self, incident: Incident) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:incidents_incident_change", args=[incident.pk]))

    def _context(self, request: HttpRequest, incident: Incident, title: str) -> dict[str, Any]:
        opts = Incident._meta
        return {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": opts,
            "title": title,
            "subtitle": None,
            "incident": incident,
            "has_view_permission": True,
        }

    # -- preview and start --------------------------------------------------------------------------------------

    def preview_view(self, request: HttpRequest, object_id: int, start_form: StartForm | None = None) -> HttpResponse:
        """How many orders and buyers the scope matches now and a sample of them, and the Start button."""
        incident = self._incident(request, object_id, change=False)
        if incident.status == IncidentStatus.CLOSED:
            return self._page(incident)
        preview = incident_preview(incident, sample=PREVIEW_SAMPLE)
        context = {
            **self._context(request, incident, _("Preview: %(title)s") % {"title": incident.title}),
            "preview": preview,
            "sample": [_sample_row(order) for order in preview.sample],
            "scope": scope_in_words(incident),
            "already": incident.affected.count() if incident.status == IncidentStatus.RUNNING else 0,
            "start_form": start_form or StartForm(),
            "may_start": self.has_change_permission(request, incident),  # type: ignore[attr-defined]
        }
        request.current_app = self.admin_site.name  # type: ignore[attr-defined]
        return TemplateResponse(request, "admin/incidents/incident/preview.html", context)

    def start_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._incident(request, object_id, change=True)
        form = StartForm(request.POST)
        if not form.is_valid():
            return self.preview_view(request, object_id, start_form=form)
        was_running = incident.status == IncidentStatus.RUNNING
        try:
            incident_start(incident=incident, actor=request_actor(request))
        except DomainError as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(reverse("admin:incidents_incident_preview", args=[incident.pk]))
        # The tickets are opened by a task after this commit (incidents.services.starting): the page's progress
        # counts them as they come.
        messages.success(
            request,
            _("Started again: orders that match now and have no ticket yet get theirs; follow the progress below.")
            if was_running
            else _("Incident started: its tickets are being opened and its buyers told; follow the progress below."),
        )
        return self._page(incident)

    # -- progress, extension, closing ---------------------------------------------------------------------------

    def progress_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The progress panel alone, for the page's htmx poll (it stops polling once the incident is closed)."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        incident = self._incident(request, object_id, change=False)
        response = TemplateResponse(
            request, "admin/incidents/incident/progress.html", progress_context(request, incident)
        )
        response["Cache-Control"] = "no-store"
        return response

    def extend_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._incident(request, object_id, change=True)
        form = ExtendForm(request.POST)
        if incident.status != IncidentStatus.RUNNING:
            messages.error(request, _("Only a running incident's deadlines can be extended."))
        elif not form.is_valid():
            messages.error(request, _("Extension: %(errors)s") % {"errors": _errors(form, "hours")})
        else:
            hours = form.cleaned_data["hours"]
            try:
                result = incident_deadlines_extend(
                    incident=incident, by=timedelta(hours=hours), actor=request_actor(request)
                )
            except DomainError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _extended_message(hours, result))
        return self._page(incident)

    def close_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        incident = self._incident(request, object_id, change=True)
        form = CloseForm(request.POST)
        if incident.status != IncidentStatus.RUNNING:
            messages.error(request, _("Only a running incident can be closed."))
        elif not form.is_valid():
            messages.error(request, _("Closing: %(errors)s") % {"errors": _errors(form, "closing_message")})
        else:
            try:
                incident_close(incident=incident, actor=request_actor(request), closing_message=form.texts())
            except DomainError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, _("Incident closed; the remaining buyers get the final message."))
        return self._page(incident)


def _errors(form: Any, name: str) -> str:
    return " ".join(str(error) for error in form.errors.get(name, []))


def _extended_message(hours: int, result: ExtendResult) -> str:
    """What the extension did: how many deadlines moved, how many stopped at their marketplace deadline, and how
    many tickets were flagged and escalated for it."""
    text = ngettext(
        "Internal deadlines of %(count)d ticket extended by %(hours)d hours.",
        "Internal deadlines of %(count)d tickets extended by %(hours)d hours.",
        result.extended,
    ) % {"count": result.extended, "hours": hours}
    if result.capped:
        text += " " + ngettext(
            "%(count)d stopped at its marketplace deadline, which never moves.",
            "%(count)d stopped at their marketplace deadlines, which never move.",
            result.capped,
        ) % {"count": result.capped}
    if result.flagged:
        text += " " + ngettext(
            "%(count)d ticket newly flagged and escalated.",
            "%(count)d tickets newly flagged and escalated.",
            result.flagged,
        ) % {"count": result.flagged}
    return text


def _sample_row(order: Any) -> dict[str, Any]:
    shipments = getattr(order, "outbound_shipments", None) or []
    shipment = shipments[0] if shipments else None
    return {
        "order": order,
        "buyer": order.buyer,
        "shop": order.shop,
        "shipment": shipment,
    }
