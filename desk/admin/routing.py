"""Supervisors' configuration of routing: departments and their people, routing rules, deadline policies.

Every change here is configuration read by routing.services on the next step of a ticket; validation is the
models' ``clean()`` (and their database constraints), which the admin forms run. The list pages annotate
their counts in the list query itself, so a page costs the same few queries whatever its length.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.groups import department_groups_sync
from kefu.core.vocabulary import STATES_BY_KIND
from routing.models import DeadlinePolicy, Department, RoutingRule, StaffMember
from tickets.models import ComplaintCategory, Kind, ReasonCode, Ticket
from tickets.models import Department as TicketDepartment

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class _DepartmentCounts(TypedDict):
    member_count: int
    on_duty_count: int
    unassigned_open: int


class _MemberCounts(TypedDict):
    open_tickets: int


def _count(queryset: QuerySet) -> Coalesce:
    """A correlated COUNT of ``queryset`` as an annotation (0 when it has no rows)."""
    counted = queryset.order_by().values(key=Value(1)).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def state_choices(*, blank: str | Promise | None) -> list[tuple[str | Promise, Any]]:
    """Every kind's states, grouped by kind (a state name shared by two kinds is listed under each)."""
    kinds = dict(Kind.choices)
    grouped: list[tuple[str | Promise, Any]] = [("", blank)] if blank is not None else [("", "---------")]
    for kind, states in STATES_BY_KIND.items():
        grouped.append((kinds[kind], [(value, f"{label} ({value})") for value, label in states.choices]))
    return grouped


# -- departments and staff ------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    model = StaffMember.departments.through
    verbose_name = _("member")
    verbose_name_plural = _("members")
    autocomplete_fields = ["staffmember"]
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("staffmember__user")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # The through model is Django's own: its field is named "staffmember", with no translated label.
        if db_field.name == "staffmember":
            kwargs["label"] = _("staff member")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "strategy",
        "member_count",
        "on_duty_count",
        "unassigned_open",
        "overflow_threshold",
        "backup",
        "calendar",
    ]
    list_select_related = ["backup", "calendar"]
    search_fields = ["name", "code"]
    fields = ["code", "name", "strategy", "overflow_threshold", "backup", "calendar"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("members", distinct=True),
                on_duty_count=Count("members", filter=Q(members__on_duty=True), distinct=True),
                # What overflow compares with its threshold (tickets.selectors.TicketWorkload.unassigned_backlog).
                unassigned_open=_count(
                    Ticket.objects.filter(department=OuterRef("code"), assignee__isnull=True, closed_at__isnull=True)
                ),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Department | None = None) -> list[str]:
        # Tickets, their history and the admin's permission groups refer to a department by its code.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: Department | None = None) -> bool:
        # The four departments of the state machines (tickets.models.Department) are where steps go.
        if obj is not None and obj.code in TicketDepartment.values:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "backup":
            # Not itself (the model's clean() refuses it too).
            current = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
            if current:
                kwargs["queryset"] = Department.objects.exclude(pk=current)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, obj: WithAnnotations[Department, _DepartmentCounts]) -> int:
        return obj.member_count

    @admin.display(description=_("on duty"), ordering="on_duty_count")
    def on_duty_count(self, obj: WithAnnotations[Department, _DepartmentCounts]) -> int:
        return obj.on_duty_count

    @admin.display(description=_("unassigned open tickets"), ordering="unassigned_open")
    def unassigned_open(self, obj: WithAnnotations[Department, _DepartmentCounts]) -> int:
        return obj.unassigned_open


class StaffMemberForm(forms.ModelForm):
    """A member works in at least one department and can log into the admin."""

    class Meta:
        model = StaffMember
        fields = ["user", "departments", "on_duty", "max_open_tickets"]
        help_texts = {
            "departments": _(
                "Tickets of these departments are routed to this member, who sees them in the admin; membership of "
                "operations, warehouse, logistics or supervisors also gives that group's admin permissions."
            ),
        }
        error_messages = {
            "departments": {
                "required": _("Choose at least one department: a member of none is never given tickets."),
            },
        }

    def clean_user(self) -> Any:
        user = self.cleaned_data.get("user")
        if user is not None and not (user.is_active and user.is_staff):
            raise forms.ValidationError(
                _(
                    "%(user)s cannot log into the admin (inactive or without staff status); a superuser must allow "
                    "that first."
                )
                % {"user": user.get_username()}
            )
        return user


@admin.register(StaffMember)
class StaffMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "full_name", "department_list", "on_duty", "max_open_tickets", "open_tickets"]
    list_editable = ["on_duty", "max_open_tickets"]
    list_filter = ["on_duty", "departments"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user"]
    filter_horizontal = ["departments"]
    form = StaffMemberForm
    fields = ["user", "departments", "on_duty", "max_open_tickets"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        department_groups_sync(user=form.instance.user, codes=form.instance.departments.values_list("code", flat=True))

    def get_queryset(self, request: HttpRequest) -> QuerySet[StaffMember]:
        return (
            super()
            .get_queryset(request)
            .select_related("user")
            .prefetch_related("departments")
            # Counted like tickets.selectors.TicketWorkload.open_ticket_counts, which checks the cap
            # (ticket_assignee_open_idx).
            .annotate(open_tickets=_count(Ticket.objects.filter(assignee=OuterRef("user"), closed_at__isnull=True)))
        )

    @admin.display(description=_("name"), ordering="user__last_name")
    def full_name(self, obj: StaffMember) -> str:
        return obj.user.get_full_name()

    @admin.display(description=_("departments"))
    def department_list(self, obj: StaffMember) -> str:
        return ", ".join(d.name for d in obj.departments.all())

    @admin.display(description=_("open tickets"), ordering="open_tickets")
    def open_tickets(self, obj: WithAnnotations[StaffMember, _MemberCounts]) -> int:
        return obj.open_tickets


# -- rules and policies ---------------------------------------------------------------------------------


class RoutingRuleForm(forms.ModelForm):
    """Choices instead of free text where a typo would make the rule silently never match."""

    state = forms.ChoiceField(label=_("state"), required=False, choices=state_choices(blank=_("every state")))
    reason_codes = forms.MultipleChoiceField(
        label=_("reason codes"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Matches tickets with one of these reasons; none ticked: any reason."),
    )
    complaint_categories = forms.MultipleChoiceField(
        label=_("complaint categories"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=ComplaintCategory.choices,
        help_text=_("Matches complaints of one of these categories; none ticked: any category (and every kind)."),
    )

    class Meta:
        model = RoutingRule
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose and order them)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["reason_codes"]
        if not isinstance(field, forms.ChoiceField):
            raise TypeError("reason_codes is declared as a MultipleChoiceField above")
        field.choices = [(r.code, f"{r} ({r.code})") for r in ReasonCode.objects.all()]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = [
        "position",
        "name",
        "active",
        "kind",
        "state",
        "match_summary",
        "department",
        "priority",
        "deadline_policy",
    ]
    list_display_links = ["name"]
    list_editable = ["position", "active"]
    list_filter = ["active", "kind", "department"]
    list_select_related = ["department", "deadline_policy", "shop"]
    search_fields = ["name"]
    ordering = ["position", "pk"]
    autocomplete_fields = ["shop"]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "position", "active"],
                "description": _("Rules are tried by position, lowest first; the first that matches wins."),
            },
        ),
        (
            _("Matches (empty: anything)"),
            {
                "fields": [
                    ("kind", "state"),
                    "reason_codes",
                    "complaint_categories",
                    ("channel", "shop"),
                    ("min_amount", "max_amount"),
                    "buyer_tier",
                ],
            },
        ),
        (_("Sets"), {"fields": ["department", "priority", "deadline_policy"]}),
    ]

    @admin.display(description=_("also matches on"))
    def match_summary(self, obj: RoutingRule) -> str:
        parts = []
        if obj.reason_codes:
            parts.append(_("reason %(codes)s") % {"codes": ", ".join(obj.reason_codes)})
        if obj.complaint_categories:
            parts.append(_("category %(codes)s") % {"codes": ", ".join(obj.complaint_categories)})
        if obj.channel:
            parts.append(obj.get_channel_display())
        if obj.shop is not None:  # no query when shop_id is None
            parts.append(obj.shop.name)
        if obj.min_amount is not None or obj.max_amount is not None:
            parts.append(
                f"¥{obj.min_amount if obj.min_amount is not None else 0}–"
                f"{obj.max_amount if obj.max_amount is not None else '∞'}"
            )
        if obj.buyer_tier:
            parts.append(obj.get_buyer_tier_display())
        return "; ".join(str(p) for p in parts) or "—"


class DeadlinePolicyForm(forms.ModelForm):
    """The database constraints (time above zero, warning at most 100 %) as messages beside their fields."""

    state = forms.ChoiceField(label=_("state"), choices=state_choices(blank=None))
    warn_at_percent = forms.IntegerField(
        # A literal percent sign, not a placeholder (makemessages would flag it python-format).
        # xgettext:no-python-format
        label=_("warn at (% of the time)"),
        min_value=1,
        max_value=100,
        initial=80,
        help_text=_("A warning goes out when this share of the time is used; 100: no warning."),
    )

    class Meta:
        model = DeadlinePolicy
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose and order them)
        help_texts = {
            "duration": _("e.g. 48:00:00 for 48 hours, 7 00:00:00 for 7 days."),
            "shop": _("Only this shop's tickets (wins over a channel or global policy)."),
            "channel": _("Only this channel's shops (wins over a global policy). Leave both empty: every shop."),
        }

    def clean_duration(self) -> Any:
        duration = self.cleaned_data.get("duration")
        if duration is not None and duration <= timedelta(0):
            raise forms.ValidationError(_("The time allowed must be above zero."))
        return duration


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(admin.ModelAdmin):
    form = DeadlinePolicyForm
    list_display = ["name", "kind", "state", "scope", "duration", "warn_at_percent", "active"]
    list_editable = ["active"]
    list_filter = ["active", "kind", "channel"]
    list_select_related = ["shop"]
    search_fields = ["name", "state"]
    autocomplete_fields = ["shop"]
    fieldsets = [
        (None, {"fields": ["name", "active"]}),
        (_("For"), {"fields": [("kind", "state"), ("shop", "channel")]}),
        (_("Clock"), {"fields": ["duration", "warn_at_percent"]}),
    ]

    @admin.display(description=_("applies to"))
    def scope(self, obj: DeadlinePolicy) -> str:
        if obj.shop_id:
            return str(obj.shop)
        if obj.channel:
            return str(obj.get_channel_display())
        return str(_("every shop"))
