"""The incidents' admin: the list, declaring an incident (its form, grouped as kind / scope / what buyers hear /
what they are offered) and its page, which shows what to do next for its status:

- draft: "Preview and start" (``pages.IncidentPagesMixin.preview_view``);
- running: the live progress (polled by htmx every ``KEFU_INCIDENT_POLL_SECONDS``), extending the tickets'
  internal deadlines, closing with a final message, and previewing the scope again (after widening it, starting
  again opens tickets only for the newly matching orders);
- closed: the final figures, everything read-only.

Supervisors only, by the Django permissions accounts.groups gives them (``incidents.*_incident``): view to look,
add to declare, change to edit a draft or running incident's scope and texts, start, extend and close. Every
change goes through incidents.services, as the API and the tasks do.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from desk.admin.incidents.display import scope_in_words, texts_html
from desk.admin.incidents.forms import IncidentForm
from desk.admin.incidents.pages import IncidentPagesMixin, progress_context
from incidents.models import Incident, IncidentOffer, IncidentStatus

SCOPE_DESCRIPTION = _("Which orders are affected: every condition filled in must hold; an empty one matches all.")
RECORD_FIELDS = ["created_by", "created_at", "started_by", "started_at", "closed_by", "closed_at"]


def _fieldsets(*, scope: list[Any], hear: list[Any], offer: list[Any], head: list[Any]) -> list[Any]:
    return [
        (_("Kind"), {"fields": head}),
        (_("Scope"), {"fields": scope, "description": SCOPE_DESCRIPTION}),
        (_("What buyers hear"), {"fields": hear}),
        (_("What they are offered"), {"fields": offer}),
    ]


EDIT_FIELDSETS = _fieldsets(
    head=["title", "kind"],
    scope=[
        "shops",
        "channels",
        "carrier",
        "tracking_statuses",
        ("origin_region", "destination_region"),
        "skus",
        ("shipped_from", "shipped_until"),
    ],
    hear=["message", "message_en", "expected_delivery_date"],
    offer=["offers", "compensation_amount", "alternative_sku", "messages_per_minute"],
)
# A closed incident: the same groups, read-only, in words.
CLOSED_FIELDSETS = _fieldsets(
    head=["title", "kind", "status"],
    scope=["scope_summary"],
    hear=["message_summary", "expected_delivery_date", "closing_summary"],
    offer=["offers_summary", "compensation_amount", "alternative_sku", "messages_per_minute"],
)
RECORD_FIELDSET = (_("Record"), {"fields": RECORD_FIELDS})


@admin.register(Incident)
class IncidentAdmin(IncidentPagesMixin, admin.ModelAdmin):
    form = IncidentForm
    list_display = ["title", "kind", "status", "affected_count", "created_at", "started_at", "closed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["title"]
    radio_fields = {"kind": admin.VERTICAL}
    date_hierarchy = "created_at"
    change_form_template = "admin/incidents/incident/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Incident]:
        return super().get_queryset(request).annotate(affected_total=Count("affected"))

    @admin.display(description=_("tickets opened"), ordering="affected_total")
    def affected_count(self, obj: Incident) -> int:
        return int(getattr(obj, "affected_total", 0))

    # -- the page ---------------------------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Incident | None = None) -> list[Any]:
        if obj is None:
            return EDIT_FIELDSETS
        if obj.status == IncidentStatus.CLOSED:
            return [*CLOSED_FIELDSETS, RECORD_FIELDSET]
        head = EDIT_FIELDSETS[0]
        return [(head[0], {"fields": ["title", "kind", "status"]}), *EDIT_FIELDSETS[1:], RECORD_FIELDSET]

    def get_readonly_fields(self, request: HttpRequest, obj: Incident | None = None) -> list[str]:
        if obj is None:
            return []
        if obj.status == IncidentStatus.CLOSED:
            return [name for _, options in self.get_fieldsets(request, obj) for name in options["fields"]]
        return ["status", *RECORD_FIELDS]

    def has_change_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        """A closed incident is a record: nothing of it changes any more."""
        closed = obj is not None and obj.status == IncidentStatus.CLOSED
        return not closed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Incident | None = None) -> bool:
        """Only a draft may go: a started incident has tickets and told buyers behind it."""
        return (obj is None or obj.status == IncidentStatus.DRAFT) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Incident, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: Incident, post_url_continue: str | None = None) -> HttpResponse:
        """A declared incident goes straight to its preview: nothing happens before the supervisor has seen it."""
        if "_addanother" in request.POST or "_continue" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(reverse("admin:incidents_incident_preview", args=[obj.pk]))

    def response_change(self, request: HttpRequest, obj: Incident) -> HttpResponse:
        if "_preview" in request.POST:
            return HttpResponseRedirect(reverse("admin:incidents_incident_preview", args=[obj.pk]))
        return super().response_change(request, obj)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Incident | None = None,
    ) -> TemplateResponse:
        if obj is not None and obj.status != IncidentStatus.DRAFT:
            context.update(progress_context(request, obj))
        context["incident"] = obj
        return super().render_change_form(request, context, add, change, form_url, obj)  # type: ignore[return-value]

    # -- a closed incident, in words ----------------------------------------------------------------------------

    @admin.display(description=_("scope"))
    def scope_summary(self, obj: Incident) -> str:
        return scope_in_words(obj)

    @admin.display(description=_("message to buyers"))
    def message_summary(self, obj: Incident) -> str:
        return texts_html(obj.message)

    @admin.display(description=_("closing message"))
    def closing_summary(self, obj: Incident) -> str:
        return texts_html(obj.closing_message)

    @admin.display(description=_("offers"))
    def offers_summary(self, obj: Incident) -> str:
        labels = dict(IncidentOffer.choices)
        return "、".join(str(labels.get(offer, offer)) for offer in obj.offers or []) or "—"
