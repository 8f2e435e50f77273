"""The delivery log (filters, resend of dead letters), templates, and where audiences are reached."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kefu.core.outbound import mask_secrets, mask_url
from kefu.core.outbound.validators import validate_outbound_url
from notifications.models import DepartmentRobot, Notification, ShopChannels, Status, Template
from notifications.rendering import template_unknowns
from notifications.services import notification_resend
from tickets.privacy import CONTACT_PERMISSION


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    # Buyers' phones and emails are masked in the list, and on the page for whoever may not see them in full
    # (tickets.privacy); a search by the full number still finds its messages. A robot's URL carries its token:
    # always masked, as is the last error.
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
    readonly_fields = [f.name for f in Notification._meta.fields] + [
        "recipient_shown",
        "recipient_in_full",
        "masked_last_error",
    ]

    def get_fields(self, request: HttpRequest, obj: Notification | None = None) -> list[Any]:
        full = request.user.has_perm(CONTACT_PERMISSION)
        shown = {"recipient": "recipient_in_full" if full else "recipient_shown", "last_error": "masked_last_error"}
        return [shown.get(name, name) for name in (f.name for f in Notification._meta.fields if f.name != "id")]

    @admin.display(description=_("recipient"))
    def recipient_shown(self, obj: Notification) -> str:
        return obj.recipient_shown

    @admin.display(description=_("recipient"))
    def recipient_in_full(self, obj: Notification) -> str:
        """A buyer's number or address in full (for who may see it); a robot's token stays masked."""
        return mask_url(obj.recipient)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: Notification) -> str:
        return mask_secrets(obj.last_error)[:80]

    @admin.display(description=_("last error"))
    def masked_last_error(self, obj: Notification) -> str:
        return mask_secrets(obj.last_error)

    @admin.action(description=_("Resend selected dead-lettered messages"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        # Counted before resending: the selection may be "status = dead" (the log filtered by status), which
        # the resent rows leave; counting it afterwards said "-1 selected message(s) were not dead-lettered".
        selected = queryset.count()
        dead = list(queryset.filter(status=Status.DEAD))
        for notification in dead:
            notification_resend(notification=notification)
        skipped = selected - len(dead)
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
    # 回访 (quality.services): the satisfaction request's link and its end, and a low answer's score.
    "survey_url": "https://kefu.example.com/survey/TOKEN/",
    "survey_expires": "2026-01-15 12:00",
    "score": 2,
    # Surge (surge.services.alerts): a queue projected to breach, its figures and the tickets at risk.
    "breaches": 12,
    "horizon": 4.0,
    "hours_to_breach": 1.5,
    "arrivals": 30.0,
    "handled": 12.0,
    "backlog": 80,
    "at_risk": "CP0001 https://kefu.example.com/admin/tickets/ticket/1/change/",
    "watch_url": "https://kefu.example.com/admin/surge/surgealert/watch/",
    # Incidents (incidents.messaging): the incident's text, the new date, the offers, the answer link, the closing.
    "incident_message": "中转站停运，包裹延误。",
    "expected_delivery": "2026-01-05",
    "offers": "等待（补偿 ¥5.00）/ 退款",
    "answer_url": "https://kefu.example.com/incident/TOKEN/",
    "closing_message": "中转站已恢复，感谢您的耐心。",
}


def template_problem(source: str) -> str | None:
    """Why ``source`` cannot be a message template (syntax, an unknown variable), or None."""
    try:
        unknown = template_unknowns(source, SAMPLE_CONTEXT)
    except TemplateSyntaxError as exc:
        return _("Template error: %(error)s") % {"error": exc}
    if unknown:
        return _("Unknown variable %(names)s. Templates may use: %(known)s.") % {
            "names": ", ".join(unknown),
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


class DepartmentRobotForm(forms.ModelForm):
    """The robot's URL carries its token (WeCom ``key=``, DingTalk ``access_token=``): the form shows it masked,
    and a masked URL sent back unchanged keeps the stored one. The DingTalk secret is write-only (empty keeps
    it). A URL kefu would not send to is refused, saying why (kefu.core.outbound's rules)."""

    # Robot webhooks carry ticket details: a URL typed without a scheme is https.
    url = forms.URLField(label=_("webhook URL"), max_length=500, assume_scheme="https")
    secret = forms.CharField(
        label=_("signing secret (DingTalk)"),
        required=False,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Not shown again once saved; leave empty to keep it."),
    )
    clear_secret = forms.BooleanField(label=_("remove the signing secret"), required=False)

    class Meta:
        model = DepartmentRobot
        fields = ["department", "channel", "url", "secret", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.url:
            self.initial["url"] = mask_url(self.instance.url)

    def clean_url(self) -> str:
        url: str = self.cleaned_data.get("url", "")
        stored = self.instance.url if self.instance.pk else ""
        if stored and url == mask_url(stored):
            return stored  # the masked URL came back unchanged: the token stays
        validate_outbound_url(url)
        return url

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("clear_secret"):
            cleaned["secret"] = ""
        elif not cleaned.get("secret"):
            cleaned["secret"] = self.instance.secret
        return cleaned


@admin.register(DepartmentRobot)
class DepartmentRobotAdmin(admin.ModelAdmin):
    form = DepartmentRobotForm
    fields = ["department", "channel", "url", "secret", "clear_secret", "active"]
    list_display = ("department", "channel", "masked_url", "active")
    list_filter = ("channel", "active")

    @admin.display(description=_("webhook URL"))
    def masked_url(self, obj: DepartmentRobot) -> str:
        return mask_url(obj.url)
