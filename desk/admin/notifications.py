"""The delivery log (filters, resend of dead letters), templates, and where audiences are reached."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import Context, Engine, TemplateSyntaxError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import DepartmentRobot, Notification, ShopChannels, Status, Template
from notifications.services import notification_resend
from tickets.privacy import CONTACT_PERMISSION


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    # Buyers' phones and emails are masked in the list, and on the page for whoever may not see them in full
    # (tickets.privacy); a search by the full number still finds its messages.
    list_display = (
        "created_at",
        "ticket",
        "event",
        "channel",
        "recipient_shown",
        "status",
        "attempts",
        "last_error_short",
    )
    list_filter = ("status", "channel", "event", "audience", "created_at")
    search_fields = ("ticket__number", "recipient", "dedup_key")
    list_select_related = ("ticket",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [f.name for f in Notification._meta.fields] + ["recipient_shown"]

    def get_fields(self, request: HttpRequest, obj: Notification | None = None) -> list[Any]:
        full = request.user.has_perm(CONTACT_PERMISSION)
        return [
            name if name != "recipient" or full else "recipient_shown"
            for name in (f.name for f in Notification._meta.fields if f.name != "id")
        ]

    @admin.display(description=_("recipient"))
    def recipient_shown(self, obj: Notification) -> str:
        return obj.recipient_shown

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: Notification) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("Resend selected dead-lettered messages"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        dead = list(queryset.filter(status=Status.DEAD))
        for notification in dead:
            notification_resend(notification=notification)
        skipped = queryset.count() - len(dead)
        self.message_user(
            request,
            ngettext("%(n)d message queued again.", "%(n)d messages queued again.", len(dead)) % {"n": len(dead)},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                _("%(n)d selected message(s) were not dead-lettered and were left alone.") % {"n": skipped},
                messages.WARNING,
            )


# What a template sees, shaped like notifications.services.message_context (keep the two in step): a template
# is tried against it when saved, so a typo is refused here instead of failing every ticket change that
# sends this message.
SAMPLE_CONTEXT = {
    "ticket": {
        "number": "RT0001",
        "kind": "return",
        "kind_label": "退货退款",
        "state": "requested",
        "state_label": "待审核",
    },
    "order": {"number": "TB0001"},
    "shop": {"code": "shop", "name": "Shop"},
    "buyer": {"name": "Buyer"},
    "due_at": "2026-01-01 12:00",
    "reason": "reason",
    "comment": "comment",
    "assignee": "ops1",
    "department": "operations",
}
UNKNOWN = "\x00unknown:%s\x00"
_checking_engine = Engine(autoescape=False, string_if_invalid=UNKNOWN)


def template_problem(source: str) -> str | None:
    """Why ``source`` cannot be a message template (syntax, an unknown variable), or None."""
    try:
        rendered = _checking_engine.from_string(source).render(Context(SAMPLE_CONTEXT, autoescape=False))
    except TemplateSyntaxError as exc:
        return _("Template error: %(error)s") % {"error": exc}
    unknown = re.findall(r"\x00unknown:(.*?)\x00", rendered)
    if unknown:
        return _("Unknown variable %(names)s. Templates may use: %(known)s.") % {
            "names": ", ".join(sorted(set(unknown))),
            "known": ", ".join(_context_names(SAMPLE_CONTEXT)),
        }
    return None


def _context_names(context: dict, prefix: str = "") -> list[str]:
    names = []
    for key, value in context.items():
        if isinstance(value, dict):
            names += _context_names(value, f"{prefix}{key}.")
        else:
            names.append(f"{prefix}{key}")
    return names


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ["event", "channel", "language", "subject", "body", "active"]

    def clean_subject(self) -> str:
        return self._checked("subject")

    def clean_body(self) -> str:
        return self._checked("body")

    def _checked(self, field: str) -> str:
        source = self.cleaned_data.get(field, "")
        problem = template_problem(source)
        if problem:
            raise forms.ValidationError(problem)
        return source


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ("event", "channel", "language", "subject", "active")
    list_filter = ("event", "channel", "language", "active")
    search_fields = ("subject", "body")


@admin.register(ShopChannels)
class ShopChannelsAdmin(admin.ModelAdmin):
    list_display = ("shop", "webhook", "sms", "email", "language")
    list_select_related = ("shop",)


@admin.register(DepartmentRobot)
class DepartmentRobotAdmin(admin.ModelAdmin):
    list_display = ("department", "channel", "url", "active")
    list_filter = ("channel", "active")
    # Robot webhooks carry ticket details: a URL typed without a scheme is https.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
