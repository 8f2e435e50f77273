"""回访 in the admin: the satisfaction answers and the supervisors' follow-ups of low scores (quality app).

Supervisors (and superusers) only, whatever their Django permissions: the follow-up list is their work list
(filter "open"), each row links to its ticket, and "Mark as done" is the only change (quality.services
follow_up_close). Answers are read-only: only the buyer writes them, through the signed link.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from desk.admin.access import request_actor
from quality.models import FollowUp, FollowUpStatus, Survey
from quality.services import follow_up_close


def _supervisor(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and (user.is_superuser or request_actor(request).is_supervisor))


class SupervisorsOnly:
    """Open to supervisors and superusers; nothing is added or deleted here."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _supervisor(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _supervisor(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def ticket_link(ticket_id: int, number: str | None) -> str:
    return format_html(
        '<a class="kefu-ticket-link" href="{}">{}</a>',
        reverse("admin:tickets_ticket_change", args=[ticket_id]),
        number or ticket_id,
    )


@admin.register(FollowUp)
class FollowUpAdmin(SupervisorsOnly, admin.ModelAdmin):
    list_display = ["ticket_number", "score", "comment", "status", "created_at", "done_at", "done_by"]
    list_filter = ["status"]
    list_select_related = ["ticket", "survey", "done_by"]
    search_fields = ["ticket__number"]
    fields = ["ticket_number", "score", "comment", "status", "created_at", "done_at", "done_by", "note"]
    readonly_fields = fields
    actions = ["mark_done"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The work list opens on what is still to do.
        if "status__exact" not in request.GET and not request.GET.get("q") and request.method == "GET":
            query = request.GET.copy()
            query["status__exact"] = FollowUpStatus.OPEN
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: FollowUp) -> str:
        return ticket_link(obj.ticket_id, obj.ticket.number)

    @admin.display(description=_("score"))
    def score(self, obj: FollowUp) -> int | None:
        return obj.survey.score

    @admin.display(description=_("comment"))
    def comment(self, obj: FollowUp) -> str:
        return obj.survey.comment

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not _supervisor(request):
            actions.pop("mark_done", None)
        return actions

    @admin.action(description=_("Mark the selected follow-ups as done"))
    def mark_done(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> None:
        done = 0
        for follow_up in queryset.filter(status=FollowUpStatus.OPEN):
            follow_up_close(follow_up=follow_up, user=request.user)  # type: ignore[arg-type]
            done += 1
        self.message_user(
            request,
            ngettext("%(count)d follow-up marked as done.", "%(count)d follow-ups marked as done.", done)
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(Survey)
class SurveyAdmin(SupervisorsOnly, admin.ModelAdmin):
    list_display = ["ticket_number", "score", "comment", "language", "sent_at", "answered_at"]
    list_filter = ["score", ("answered_at", admin.EmptyFieldListFilter)]
    list_select_related = ["ticket"]
    search_fields = ["ticket__number"]
    date_hierarchy = "sent_at"
    fields = ["ticket_number", "score", "comment", "language", "sent_at", "expires_at", "answered_at"]
    readonly_fields = fields

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: Survey) -> str:
        return ticket_link(obj.ticket_id, obj.ticket.number)
