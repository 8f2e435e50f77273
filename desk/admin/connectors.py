"""Marketplace connections (credentials write-only, pull health, "sync now"), their cases, the push inbox,
the write-back outbox (resend) and the reconciliation reports."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from connectors.models import InboxMessage, PlatformCase, Reconciliation, ShopConnection, WriteBack, WriteBackStatus
from connectors.services.sync import inbox_retry
from connectors.services.writeback import writeback_resend
from connectors.tasks import pull_connection_task, reconcile_connection_task
from desk.admin.inlines import ReadOnlyMixin

SECRETS = ("app_secret", "access_token", "refresh_token")


def _secret_field(label: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Not shown again once saved (stored encrypted). Leave empty to keep the current value."),
    )


class ShopConnectionForm(forms.ModelForm):
    """The credentials are write-only: never rendered back, an empty field keeps the stored value."""

    app_secret = _secret_field(_("app secret"))
    access_token = _secret_field(_("access token"))
    refresh_token = _secret_field(_("refresh token"))

    class Meta:
        model = ShopConnection
        fields = [
            "shop",
            "platform",
            "external_id",
            "active",
            "base_url",
            "app_key",
            "app_secret",
            "access_token",
            "refresh_token",
            "token_expires_at",
            "return_address_id",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in SECRETS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(ShopConnection)
class ShopConnectionAdmin(admin.ModelAdmin):
    form = ShopConnectionForm
    list_display = ("__str__", "platform", "external_id", "active", "last_pull_at", "lag_display", "error_rate_display")
    list_filter = ("platform", "active")
    search_fields = ("shop__name", "shop__code", "external_id")
    readonly_fields = ("pull_cursor", "last_pull_at", "last_pull_error", "pulls", "pull_errors", "created_at")
    actions = ["sync_now", "reconcile_now"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """Warn above the list when pushed messages were given up on (the alarm the inbox raises)."""
        failed = InboxMessage.objects.filter(InboxMessage.FAILED).count()
        if failed:
            url = reverse("admin:connectors_inboxmessage_changelist") + "?outcome=failed"
            self.message_user(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    ngettext(
                        "%(count)d pushed message could not be processed.",
                        "%(count)d pushed messages could not be processed.",
                        failed,
                    )
                    % {"count": failed},
                    url,
                    _("See the inbox"),
                ),
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("lag"))
    def lag_display(self, obj: ShopConnection) -> str:
        lag = obj.lag
        if lag is None:
            return "—"
        return _("%(minutes)d min") % {"minutes": lag // 60}

    @admin.display(description=_("error rate"))
    def error_rate_display(self, obj: ShopConnection) -> str:
        return f"{obj.error_rate:.0%} ({obj.pull_errors}/{obj.pulls})"

    @admin.action(description=_("Sync now (pull the changes)"), permissions=["change"])
    def sync_now(self, request: HttpRequest, queryset: QuerySet[ShopConnection]) -> None:
        task = pull_connection_task
        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            task.apply_async((pk,), retry=False)
        self.message_user(
            request,
            ngettext(
                "A pull of %(count)d connection was queued.", "Pulls of %(count)d connections were queued.", len(ids)
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )

    @admin.action(description=_("Reconcile now"), permissions=["change"])
    def reconcile_now(self, request: HttpRequest, queryset: QuerySet[ShopConnection]) -> None:
        task = reconcile_connection_task
        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            task.apply_async((pk,), retry=False)
        self.message_user(
            request,
            ngettext(
                "A reconciliation of %(count)d connection was queued.",
                "Reconciliations of %(count)d connections were queued.",
                len(ids),
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )


class UnknownCodeFilter(admin.SimpleListFilter):
    title = _("codes")
    parameter_name = "codes"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("unknown", _("Unknown code")), ("drift", _("Out of step with kefu"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[PlatformCase]) -> QuerySet[PlatformCase]:
        if self.value() == "unknown":
            return queryset.filter(unknown=True)
        if self.value() == "drift":
            return queryset.exclude(last_error="")
        return queryset


@admin.register(PlatformCase)
class PlatformCaseAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "case_id",
        "platform",
        "connection",
        "ticket_link",
        "kind",
        "status",
        "raw_status",
        "unknown",
        "modified_at",
        "merchant_deadline",
        "last_error",
    )
    list_filter = (UnknownCodeFilter, "platform", "status", "kind")
    search_fields = ("case_id", "order_id", "ticket__number")
    list_select_related = ("connection__shop", "ticket")

    @admin.display(description=_("ticket"))
    def ticket_link(self, obj: PlatformCase) -> str:
        if obj.ticket is None:
            return "—"
        url = reverse("admin:tickets_ticket_change", args=[obj.ticket_id])
        return format_html('<a href="{}">{}</a>', url, obj.ticket.number)


@admin.register(WriteBack)
class WriteBackAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("created_at", "ticket", "case", "command", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status", "command")
    search_fields = ("ticket__number", "case__case_id")
    list_select_related = ("ticket", "case")
    actions = ["resend"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("connectors.change_writeback"))  # for the resend action only

    @admin.action(description=_("Resend selected write-backs"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[WriteBack]) -> None:
        ids = list(queryset.exclude(status=WriteBackStatus.PENDING).values_list("pk", flat=True))
        for pk in ids:
            writeback_resend(writeback_id=pk)
        self.message_user(
            request,
            ngettext("%(count)d write-back queued again.", "%(count)d write-backs queued again.", len(ids))
            % {"count": len(ids)},
            messages.SUCCESS,
        )


class InboxOutcomeFilter(admin.SimpleListFilter):
    title = _("outcome")
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("failed", _("Failed (given up)")), ("waiting", _("Waiting")), ("done", _("Processed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[InboxMessage]) -> QuerySet[InboxMessage]:
        if self.value() == "failed":
            return queryset.filter(InboxMessage.FAILED)
        if self.value() == "waiting":
            return queryset.filter(processed_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(processed_at__isnull=False, error="")
        return queryset


@admin.register(InboxMessage)
class InboxMessageAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("received_at", "platform", "message_id", "topic", "case_id", "processed_at", "attempts", "error")
    list_filter = (InboxOutcomeFilter, "platform", "topic")
    search_fields = ("message_id", "case_id")
    actions = ["process_again"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("connectors.change_inboxmessage"))  # for the action only

    @admin.action(description=_("Process the selected failed messages again"), permissions=["change"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboxMessage]) -> None:
        count = inbox_retry(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            ngettext("%(count)d message put back in line.", "%(count)d messages put back in line.", count)
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("started_at", "connection", "checked", "repaired", "resent", "errors", "finished_at")
    list_filter = ("connection",)
    readonly_fields = ("connection", "started_at", "finished_at", "checked", "repaired", "resent", "errors", "details")
