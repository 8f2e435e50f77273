"""The delivery log (filters, resend of dead letters), templates, and where audiences are reached."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notifications.models import DepartmentRobot, Notification, ShopChannels, Status, Template
from notifications.relay import notification_resend


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "ticket", "event", "channel", "recipient", "status", "attempts", "last_error_short")
    list_filter = ("status", "channel", "event", "audience", "created_at")
    search_fields = ("ticket__number", "recipient", "dedup_key")
    list_select_related = ("ticket",)
    show_full_result_count = False
    date_hierarchy = "created_at"
    actions = ["resend"]
    readonly_fields = [f.name for f in Notification._meta.fields]

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


@admin.register(Template)
class TemplateAdmin(admin.ModelAdmin):
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
