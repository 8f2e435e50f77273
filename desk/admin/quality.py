"""回访 in the admin: the satisfaction answers and the supervisors' follow-ups of low scores (quality app).

Supervisors (and superusers) only, by the Django permissions accounts.groups gives them: the follow-up list
is their work list (it opens on the open ones), each row links to its ticket, and "Mark as done" is the only
change (quality.services follow_up_close). Answers are read-only: only the buyer writes them, through the signed link.
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

from quality.models import FollowUp, FollowUpStatus, Survey
from quality.services import follow_up_close


class SupervisorsOnly:
    """Django permissions decide (accounts.groups gives them to the supervisors' group; superusers have all):
    view for the lists, change for the follow-ups' action. Every page is read-only and nothing is added or
    deleted here: the buyer writes the answers, the services the follow-ups."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's action asks without an object; an object's page is read-only.
        return obj is None and super().has_change_permission(request)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def ticket_link(ticket_id: int, number: str | None) -> str:
    return format_html(
        '<a class="kefu-ticket-link" href="{}">{}</a>',
        reverse("admin:tickets_ticket_change", args=[ticket_id]),
        number or ticket_id,
    )


class FollowUpStatusFilter(admin.SimpleListFilter):
    """Open (the default: the work list), done, or all."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            (FollowUpStatus.OPEN, FollowUpStatus.OPEN.label),
            (FollowUpStatus.DONE, FollowUpStatus.DONE.label),
            ("all", _("All")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[FollowUp]) -> QuerySet[FollowUp]:
        value = self.value() or FollowUpStatus.OPEN
        return queryset if value == "all" else queryset.filter(status=value)

    def choices(self, changelist: Any) -> Any:
        current = self.value() or FollowUpStatus.OPEN
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }


FOLLOW_UP_FIELDS = ("ticket_number", "score", "comment", "status", "created_at", "done_at", "done_by", "note")
SURVEY_FIELDS = ("ticket_number", "score", "comment", "language", "sent_at", "expires_at", "answered_at")


@admin.register(FollowUp)
class FollowUpAdmin(SupervisorsOnly, admin.ModelAdmin):
    list_display = ["ticket_number", "score", "comment", "status", "created_at", "done_at", "done_by"]
    list_filter = [FollowUpStatusFilter]
    list_select_related = ["ticket", "survey", "done_by"]
    search_fields = ["ticket__number"]
    fields = FOLLOW_UP_FIELDS
    readonly_fields = FOLLOW_UP_FIELDS
    actions = ["mark_done"]

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: FollowUp) -> str:
        return ticket_link(obj.ticket_id, obj.ticket.number)

    @admin.display(description=_("score"))
    def score(self, obj: FollowUp) -> int | None:
        return obj.survey.score

    @admin.display(description=_("comment"))
    def comment(self, obj: FollowUp) -> str:
        return obj.survey.comment

    @admin.action(description=_("Mark the selected follow-ups as done"), permissions=["change"])
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
    fields = SURVEY_FIELDS
    readonly_fields = SURVEY_FIELDS

    @admin.display(description=_("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: Survey) -> str:
        return ticket_link(obj.ticket_id, obj.ticket.number)
