"""A first admin for tickets: the list supervisors work from, a read-only ticket page, reason codes, refunds.

Tickets change only through ``tickets.services`` (the one path: lock, transition, timeline), so the ticket
page is view-only and its state is never a form field. Transition buttons, assignment and department
scoping come with issue 6 and will call the same services. The list reads one table (the shared ticket
table) with its joins chosen once, so it runs a fixed number of queries whatever the page size.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.db.models import F, ForeignKey, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from tickets.models import Kind, ReasonCode, Refund, Ticket, TicketEvent, TicketLine
from tickets.workflows import model_for_kind, state_label


class ReadOnlyMixin:
    """View-only: no add, change or delete, whoever the user (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketLineInline(ReadOnlyMixin, admin.TabularInline):
    model = TicketLine
    fields = ["sku", "name", "quantity", "ordered", "paid_share", "refunded_amount"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketLine]:
        return super().get_queryset(request).select_related("order_line")

    @admin.display(description=_("SKU"))
    def sku(self, obj: TicketLine) -> str:
        return obj.order_line.sku

    @admin.display(description=_("item"))
    def name(self, obj: TicketLine) -> str:
        return obj.order_line.name

    @admin.display(description=_("of ordered"))
    def ordered(self, obj: TicketLine) -> int:
        return obj.order_line.quantity

    @admin.display(description=_("paid for this quantity"))
    def paid_share(self, obj: TicketLine) -> str:
        return f"¥{obj.paid_share()}"


class TicketEventInline(ReadOnlyMixin, admin.TabularInline):
    """The timeline, oldest first: append-only, so never editable here."""

    model = TicketEvent
    fields = ["created_at", "event_type", "actor", "change", "reason", "public", "payload"]
    readonly_fields = fields
    extra = 0
    ordering = ["created_at", "pk"]
    verbose_name_plural = _("timeline")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketEvent]:
        return super().get_queryset(request).select_related("actor_user")

    @admin.display(description=_("actor"))
    def actor(self, obj: TicketEvent) -> str:
        return f"{obj.actor_name} ({obj.get_actor_kind_display()})"

    @admin.display(description=_("change"))
    def change(self, obj: TicketEvent) -> str:
        if obj.from_state or obj.to_state:
            arrow = f"{obj.from_state or '∅'} → {obj.to_state}"
            return f"{arrow} ({obj.transition})" if obj.transition else arrow
        return ""


class RefundInline(ReadOnlyMixin, admin.TabularInline):
    model = Refund
    fields = ["idempotency_key", "amount", "status", "attempts", "gateway_reference", "created_at", "completed_at"]
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Ticket)
class TicketAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "kind",
        "state_display",
        "shop",
        "order",
        "buyer",
        "department",
        "assignee",
        "priority",
        "due_at",
    ]
    list_filter = ["kind", "state", "department", "priority"]
    # Ticket and order numbers are pasted from elsewhere: exact matches use their unique indexes.
    search_fields = ["=number", "=order__number", "buyer__name"]
    search_help_text = _("Ticket number or order number (exact), or part of the buyer's name.")
    list_select_related = ["shop", "order", "buyer", "assignee"]
    # Running clocks first, soonest due on top; tickets in end states (no due time) last.
    ordering = [F("due_at").asc(nulls_last=True), "-priority", "pk"]
    show_full_result_count = False
    list_per_page = 50

    fieldsets = [
        (None, {"fields": ["number", "kind", "state_display", "next_steps", "origin", "spawned_tickets"]}),
        (_("Order"), {"fields": ["shop", "order", "buyer", "reason", "description"]}),
        (
            _("Who acts and when"),
            {"fields": ["department", "waiting_on", "assignee", "priority", "step_started_at", "due_at", "closed_at"]},
        ),
        (_("Details of the kind"), {"fields": ["kind_details"]}),
        (_("Record"), {"fields": ["version", "created_at", "updated_at"]}),
    ]
    inlines = [TicketLineInline, RefundInline, TicketEventInline]

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Ticket | None:
        """The ticket as its kind, with what the page shows joined in.

        ``list_select_related`` only applies when the queryset has no ``select_related`` of its own, so the
        joins of this page are chosen here rather than in ``get_queryset``.
        """
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            return None
        model = model_for_kind(obj.kind)
        relations = ["shop", "order", "buyer", "reason", "assignee", "origin"]
        relations += [f.name for f in model._meta.local_fields if isinstance(f, ForeignKey) and not f.one_to_one]
        return model.objects.select_related(*relations).get(pk=obj.pk)

    @admin.display(description=_("state"), ordering="state")
    def state_display(self, obj: Ticket) -> str:
        return f"{state_label(obj.kind, obj.state)} ({obj.state})"

    @admin.display(description=_("next possible steps"))
    def next_steps(self, obj: Ticket) -> str:
        """The transitions the state machine allows from here and who may run them (no buttons yet)."""
        model = model_for_kind(obj.kind)
        rows = [
            (str(t.custom.get("label", t.name)), t.name, ", ".join(sorted(getattr(t.permission, "roles", ()))))
            for t in model._meta.get_field("state").get_all_transitions(model)  # type: ignore[attr-defined]
            if t.source in (obj.state, "*", "+")
        ]
        if not rows:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} (<code>{}</code>): {}</li>", rows))

    @admin.display(description=_("linked tickets"))
    def spawned_tickets(self, obj: Ticket) -> str:
        links = [
            (reverse("admin:tickets_ticket_change", args=[t.pk]), t.number)
            for t in obj.spawned.order_by("pk").only("pk", "number")
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


class ReasonCodeForm(forms.ModelForm):
    kinds = forms.TypedMultipleChoiceField(
        label=_("ticket kinds"),
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The ticket kinds this reason may be chosen for."),
    )

    class Meta:
        model = ReasonCode
        fields = ["code", "label_zh", "label_en", "kinds", "active", "sort_order"]

    # Reasons the services give themselves when they open a linked refund (tickets.services.exchanges and
    # .logistics); switching them off would make those transitions fail. Keep in step with those modules.
    SYSTEM_REASONS = {"out_of_stock": Kind.RETURN, "not_received": Kind.RETURN}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        code = self.instance.code if self.instance.pk else data.get("code")
        needed = self.SYSTEM_REASONS.get(code or "")
        if needed and (not data.get("active") or needed not in (data.get("kinds") or [])):
            raise forms.ValidationError(
                _("The services use '%(code)s' for linked refunds: it must stay active and allowed for %(kind)s."),
                params={"code": code, "kind": needed},
            )
        return data


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    form = ReasonCodeForm
    list_display = ["code", "label_zh", "label_en", "kinds_display", "active", "sort_order"]
    list_editable = ["sort_order"]
    list_filter = ["active"]
    search_fields = ["code", "label_zh", "label_en"]

    def get_readonly_fields(self, request: HttpRequest, obj: ReasonCode | None = None) -> list[str]:
        # The code is what integrations send and tickets refer to: set once, then stable.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: ReasonCode | None = None) -> bool:
        # Tickets keep their reason (PROTECT); a reason no longer offered is switched off instead.
        return False

    @admin.display(description=_("ticket kinds"))
    def kinds_display(self, obj: ReasonCode) -> str:
        return ", ".join(str(Kind(k).label) for k in obj.kinds if k in Kind.values)


@admin.register(Refund)
class RefundAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Refunds are reserved and paid by ``tickets.services.refunds`` only; here they are looked at."""

    list_display = ["idempotency_key", "ticket", "amount", "status", "attempts", "created_at", "completed_at"]
    list_filter = ["status"]
    search_fields = ["=idempotency_key", "=ticket__number", "=gateway_reference"]
    list_select_related = ["ticket"]
    show_full_result_count = False
    fields = [
        "ticket",
        "amount",
        "status",
        "idempotency_key",
        "allocations",
        "gateway_reference",
        "attempts",
        "last_error",
        "created_at",
        "completed_at",
    ]
