"""The ticket list (the queue supervisors and departments work from) and the ticket page.

The list reads the shared ticket table with its joins chosen once (``list_select_related``), department
names from one small query, and counts pages with ``TicketPaginator`` (no full-table COUNT), so a page costs
the same queries at 20 or 100 rows and at 100,000+ tickets. The default order is the most urgent first:
the earliest step deadline (overdue ones on top), then the highest priority; tickets with no clock last.

The ticket's own form is never saved (``has_change_permission`` is False for everyone): state and fields
change only through the services, from the page's buttons and the list's bulk actions (``ticket_page``,
``bulk``), which need ``tickets.change_ticket`` (``access.may_act``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.contrib.admin.views.main import ChangeList
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from desk.admin.access import may_act, may_supervise, visible_tickets
from desk.admin.bulk import BULK_ACTIONS
from desk.admin.display import deadline_chip, state_badge
from desk.admin.filters import (
    AssigneeFilter,
    ChannelFilter,
    DepartmentFilter,
    IncidentFilter,
    IncidentFlaggedFilter,
    OverdueFilter,
    StateFilter,
    department_names,
)
from desk.admin.forms import TicketActionForm
from desk.admin.inlines import RefundInline, TicketLineInline
from desk.admin.open_ticket import OpenTicketMixin
from desk.admin.paging import TicketPaginator
from desk.admin.queue import VIEW_VAR, QueueAdminMixin, view_condition, view_of
from desk.admin.replies import ReplyToolsMixin
from desk.admin.risk import RiskFilter, flag_badges
from desk.admin.search import ticket_search
from desk.admin.ticket_evidence import TicketEvidenceMixin
from desk.admin.ticket_page import TicketPageMixin
from orders.models import Channel
from risk.selectors import flags_of_tickets
from tickets.actions import act_of
from tickets.actors import Role
from tickets.models import Ticket
from tickets.workflows import model_for_kind

DEFAULT_PER_PAGE = 50


class TicketChangeList(ChangeList):
    """Reads a page in two steps, and gives its tickets their department's name.

    First the page's ids, sorted and sliced on the ticket table alone; then those rows with their shop,
    order, buyer and assignee joined. In one query PostgreSQL joins every matching ticket before sorting
    them for the page (at 200,000 tickets ~400 ms, mostly carrying the joined columns through the sort);
    sorting bare ticket rows and joining 50 takes a fraction of that. Two queries whatever the page size, and a
    third for the risk flags of the page's buyers.
    """

    def get_filters_params(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        lookup_params = super().get_filters_params(params)
        lookup_params.pop(VIEW_VAR, None)  # the queue's view is not a field lookup (desk.admin.queue)
        return lookup_params

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Ticket]:
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.filter(view_condition(request, view_of(self.params)))

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        ids = list(self.result_list.values_list("pk", flat=True))
        loaded = Ticket.objects.select_related(*self.list_select_related).in_bulk(ids)
        names = department_names(request)
        rows = [loaded[pk] for pk in ids if pk in loaded]
        flags = flags_of_tickets(rows)  # the page's buyers' open flags: one query whatever the page size
        for ticket in rows:
            ticket.department_label = names.get(ticket.department or "", ticket.department)
            ticket.risk_flags_shown = flags.get(ticket.pk, [])
        self.result_list = rows


@admin.register(Ticket)
class TicketAdmin(
    QueueAdminMixin, OpenTicketMixin, ReplyToolsMixin, TicketEvidenceMixin, TicketPageMixin, admin.ModelAdmin
):
    # What a queue is worked by first (state, due time, priority, who) before what it is about; paired cells
    # (number and kind; order, buyer and shop) keep it narrow enough to sit beside the filters.
    list_display = [
        "ticket_title",
        "state_label",
        "due",
        "priority",
        "channel",
        "department_name",
        "assignee",
        "order_and_buyer",
        "risk",
    ]
    list_display_links = ["ticket_title"]
    list_filter = [
        "kind",
        StateFilter,
        DepartmentFilter,
        AssigneeFilter,
        OverdueFilter,
        "priority",
        "shop",
        ChannelFilter,
        RiskFilter,
        "created_at",
        IncidentFilter,  # shown only when the incident page's links choose them
        IncidentFlaggedFilter,
    ]
    search_fields = ["number"]  # shows the search box; ``get_search_results`` does the searching
    search_help_text = _(
        "Ticket number, order number, tracking number or buyer phone (exact), or the beginning of a buyer's name."
    )
    list_select_related = ["shop", "order", "buyer", "assignee"]
    # Most urgent first: the step deadline (overdue on top), then priority; tickets without a clock last.
    ordering = [F("step_due_at").asc(nulls_last=True), "-priority", "pk"]  # type: ignore[list-item]  # stubs: str only
    sortable_by = ["ticket_title", "state_label", "priority", "due"]
    show_full_result_count = False
    # Facet counts would count every filter choice over the whole table on each page view.
    show_facets = admin.ShowFacets.NEVER
    paginator = TicketPaginator
    actions = BULK_ACTIONS
    action_form = TicketActionForm

    fieldsets = [
        (None, {"fields": ["number", "kind", "state_display", "next_steps", "origin", "spawned_tickets"]}),
        # A context of its own: Django's "Order" is a formset's sort order (排序), and must stay that.
        (pgettext_lazy("ticket section", "Order"), {"fields": ["shop", "order", "buyer", "reason", "description"]}),
        (
            _("Who acts and when"),
            {"fields": ["department", "waiting_on", "assignee", "priority", "step_started_at", "due_at", "closed_at"]},
        ),
        (_("Details of the kind"), {"fields": ["kind_details"]}),
        (_("Record"), {"fields": ["version", "created_at", "updated_at"]}),
    ]
    inlines = [TicketLineInline, RefundInline]

    class Media:
        css = {"all": ["tickets/admin.css"]}

    # -- who sees and does what --------------------------------------------------------------------------

    @property
    def list_per_page(self) -> int:  # type: ignore[override]
        return int(getattr(settings, "KEFU_ADMIN_TICKETS_PER_PAGE", DEFAULT_PER_PAGE))

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        queryset = visible_tickets(request)
        buyer = request.GET.get("buyer__id__exact", "")
        if buyer.isdigit() and queryset.filter(buyer_id=int(buyer)).exists():
            # A buyer's whole history (the buyer panel's "full history"): whoever works one of the buyer's tickets
            # reads the list of all of them, as the panel already shows them; their pages keep the usual scope.
            queryset = queryset | Ticket.objects.filter(buyer_id=int(buyer))
        ordering = self.get_ordering(request)
        return queryset.order_by(*ordering) if ordering else queryset

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are opened by buyers and integrations, through the services

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the form is view-only; buttons and bulk actions call the services

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        return may_act(request)

    def has_supervise_permission(self, request: HttpRequest) -> bool:
        return may_supervise(request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        return ticket_search(queryset, search_term), False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_open_ticket": may_act(request)}
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and not may_supervise(request):
            form = response.context_data.get("action_form") if response.context_data else None
            if form is not None:
                form.fields.pop("assignee", None)  # "Assign to" is for supervisors only
        return response

    # -- the list's columns ---------------------------------------------------------------------------

    @admin.display(description=_("ticket"), ordering="number")
    def ticket_title(self, obj: Ticket) -> str:
        # The hidden marker carries what the queue's keyboard needs (desk/static/desk/queue.js: claim the row).
        return format_html(
            '<span class="kefu-number">{}</span><div class="kefu-kind">{}</div>'
            '<span class="kefu-row" hidden data-ticket-id="{}" data-version="{}" data-assignee="{}"></span>',
            obj.number,
            obj.get_kind_display(),
            obj.pk,
            obj.version,
            obj.assignee_id or "",
        )

    @admin.display(description=_("channel"), ordering="shop__channel")
    def channel(self, obj: Ticket) -> str:
        """The shop's sales channel; a second line names the marketplace when its case runs on the platform."""
        label = obj.shop.get_channel_display()
        if not obj.platform:
            return label
        platform = Channel(obj.platform).label if obj.platform in Channel.values else obj.platform
        return format_html('{}<div class="kefu-kind" title="{}">{}</div>', label, _("platform case"), platform)

    @admin.display(description=_("state"), ordering="state")
    def state_label(self, obj: Ticket) -> str:
        return state_badge(obj)

    @admin.display(description=_("order"))  # its number, then its buyer and shop
    def order_and_buyer(self, obj: Ticket) -> str:
        return format_html('{}<div class="kefu-kind">{} · {}</div>', obj.order.number, obj.buyer, obj.shop.name)

    @admin.display(description=_("risk"))
    def risk(self, obj: Ticket) -> str:
        return flag_badges(getattr(obj, "risk_flags_shown", [])) or "—"

    @admin.display(description=_("department"), ordering="department")
    def department_name(self, obj: Ticket) -> str:
        return getattr(obj, "department_label", obj.department) or "—"

    @admin.display(description=_("time left"), ordering=F("step_due_at").asc(nulls_last=True))
    def due(self, obj: Ticket) -> str:
        return deadline_chip(obj)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TicketChangeList

    # -- the page's read-only fields --------------------------------------------------------------------

    @admin.display(description=_("state"))
    def state_display(self, obj: Ticket) -> str:
        return state_badge(obj)

    @admin.display(description=_("who may act next"))
    def next_steps(self, obj: Ticket) -> str:
        """The transitions the state machine allows from here and who may run them."""
        model = model_for_kind(obj.kind)
        roles = dict(Role.choices)
        rows = [
            (str(act_of(t).label), ", ".join(sorted(str(roles.get(r, r)) for r in getattr(t.permission, "roles", ()))))
            for t in model._meta.get_field("state").get_all_transitions(model)
            if t.source in (obj.state, "*", "+")
        ]
        if not rows:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}: {}</li>", rows))

    @admin.display(description=_("linked tickets"))
    def spawned_tickets(self, obj: Ticket) -> str:
        # values_list, not only(): a ticket with its state deferred costs django-fsm queries per row.
        links = [
            (reverse("admin:tickets_ticket_change", args=[pk]), number)
            for pk, number in obj.spawned.order_by("pk").values_list("pk", "number")
        ]
        return format_html_join(", ", '<a href="{}">{}</a>', links) or "—"

    @admin.display(description=_("details"))
    def kind_details(self, obj: Ticket) -> str:
        """The fields only this kind has (return amounts, replacement item, category, carrier claim, …)."""
        fields = [
            f for f in type(obj)._meta.local_fields if not f.auto_created and not getattr(f, "parent_link", False)
        ]
        if not obj.KIND or not fields:
            return "—"
        rows = []
        for field in fields:
            value = getattr(obj, field.name)
            shown = str(value) if value is not None and field.is_relation else display_for_field(value, field, "—")
            rows.append((field.verbose_name, shown))
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))
