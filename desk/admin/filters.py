"""The ticket list's filters. Each reads at most one small table to offer its choices (departments, staff,
shops) and filters on an indexed column of the ticket table where there is one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from desk.admin.access import request_actor
from incidents.models import Incident
from kefu.core.vocabulary import STATES_BY_KIND, all_state_choices
from orders.models import Channel
from routing.models import Department, StaffMember
from tickets.models import Ticket


def department_names(request: HttpRequest) -> dict[str, str]:
    """Department code → name, read once per request (the list shows names, tickets hold codes)."""
    names = getattr(request, "_kefu_department_names", None)
    if names is None:
        names = dict(Department.objects.order_by("code").values_list("code", "name"))
        request._kefu_department_names = names  # type: ignore[attr-defined]
    return names


class StateFilter(admin.SimpleListFilter):
    """The states of the kind filtered on (each kind has its own), or every state."""

    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        kind = request.GET.get("kind__exact")
        if kind in STATES_BY_KIND:
            return [(value, str(label)) for value, label in STATES_BY_KIND[kind].choices]
        return [(value, str(label)) for value, label in all_state_choices()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(state=self.value()) if self.value() else queryset


class DepartmentFilter(admin.SimpleListFilter):
    """The department that must act now; staff of one department are only offered their own."""

    title = _("department")
    parameter_name = "department"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actor = request_actor(request)
        names = department_names(request)
        if not actor.is_supervisor:
            names = {code: name for code, name in names.items() if code in actor.departments}
        return list(names.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(department=self.value()) if self.value() else queryset


class AssigneeFilter(admin.SimpleListFilter):
    """Mine, nobody's (the queue to claim from), or one staff member's (members of the visible departments)."""

    title = _("assignee")
    parameter_name = "assignee"
    ME = "me"
    NOBODY = "none"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        actor = request_actor(request)
        users = (
            get_user_model()
            .objects.filter(pk__in=StaffMember.objects.values("user_id"), is_active=True)
            .order_by("username")
        )
        if not actor.is_supervisor:
            users = users.filter(staff_member__departments__code__in=sorted(actor.departments)).distinct()
        choices: list[tuple[str, Any]] = [(self.ME, _("Me")), (self.NOBODY, _("Nobody (unassigned)"))]
        choices += [(str(pk), username) for pk, username in users.values_list("pk", "username")]
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value == self.ME:
            return queryset.filter(assignee_id=request.user.pk)
        if value == self.NOBODY:
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


class OverdueFilter(admin.SimpleListFilter):
    """Tickets whose current step is past its deadline (the red due times)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(step_due_at__lt=now)
        if self.value() == "no":
            return queryset.exclude(step_due_at__lt=now)
        return queryset


class ChannelFilter(admin.SimpleListFilter):
    """The sales channel of the ticket's shop (Taobao, JD, …)."""

    title = _("channel")
    parameter_name = "channel"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Channel.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        return queryset.filter(shop__channel=self.value()) if self.value() else queryset


class IncidentFilter(admin.SimpleListFilter):
    """The tickets of one incident (``?incident=<id>``, the incident page's links). Offered only while it is chosen,
    so the list costs no query for it otherwise (the queue's query counts stay as they are)."""

    title = _("incident")
    parameter_name = "incident"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        value = request.GET.get(self.parameter_name, "")
        if not value.isdigit():
            return []
        return [(str(pk), title) for pk, title in Incident.objects.filter(pk=int(value)).values_list("pk", "title")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(incident_link__incident_id=int(value))
        return queryset


class IncidentFlaggedFilter(admin.SimpleListFilter):
    """Tickets of an incident whose marketplace deadline comes before the incident's timeline (flagged and
    escalated by incidents.services): the incident page's "platform-flagged" link."""

    title = _("platform deadline first")
    parameter_name = "incident_flagged"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        if self.parameter_name not in request.GET:
            return []
        return [("yes", _("Flagged by an incident"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "yes":
            return queryset.filter(incident_link__platform_flagged_at__isnull=False)
        return queryset
