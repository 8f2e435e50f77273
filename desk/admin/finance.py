"""The finance queue ("Refunds to pay"): manual refunds waiting for someone to pay them and record the payout.

Only users with ``tickets.pay_refund`` (the finance group, accounts.groups) open it; everyone else gets 403.
The list shows each refund's shop, ticket, amount and age (red once past ``KEFU_REFUND_PAYOUT_HOURS``, when the
ticket escalates); filters by shop and age. "Record payout" takes one or many selected refunds to a form (channel,
transaction number, when) and records them through ``tickets.services.payouts.refunds_payout_record`` — the same
``refund_settle`` path a provider's confirmation takes — all or none. "Reconcile a statement" (desk.admin.reconcile)
compares a provider's refund statement with kefu's refunds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from desk.admin.access import request_actor
from desk.admin.reconcile import reconcile_view
from kefu.core.errors import DomainError
from tickets.models import PayoutChannel, RefundToPay
from tickets.services.payouts import PAY_REFUND, refunds_payout_record, refunds_to_pay


def may_pay(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.is_staff and request.user.has_perm(PAY_REFUND)


class AgeFilter(admin.SimpleListFilter):
    """How long the refund has waited since it was submitted: today, within the deadline, overdue."""

    title = gettext_lazy("waiting")
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        hours = settings.KEFU_REFUND_PAYOUT_HOURS
        return [
            ("day", gettext_lazy("less than a day")),
            ("due", _("1 day to %(hours)g h") % {"hours": hours}),
            ("overdue", _("over %(hours)g h (escalated)") % {"hours": hours}),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[RefundToPay]) -> QuerySet[RefundToPay]:
        now = timezone.now()
        deadline = now - timedelta(hours=settings.KEFU_REFUND_PAYOUT_HOURS)
        if self.value() == "day":
            return queryset.filter(submitted_at__gte=now - timedelta(days=1))
        if self.value() == "due":
            return queryset.filter(submitted_at__lt=now - timedelta(days=1), submitted_at__gte=deadline)
        if self.value() == "overdue":
            return queryset.filter(submitted_at__lt=deadline)
        return queryset


class PayoutForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("paid through"), choices=PayoutChannel.choices)
    reference = forms.CharField(
        label=gettext_lazy("transaction number"),
        max_length=128,
        required=False,
        help_text=gettext_lazy("The bank's or wallet's number of the transfer (none for cash)."),
    )
    paid_at = forms.DateTimeField(
        label=gettext_lazy("paid at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )


@admin.action(description=gettext_lazy("Record payout of the selected refunds"), permissions=["pay"])
def record_payout(
    modeladmin: RefundToPayAdmin, request: HttpRequest, queryset: QuerySet[RefundToPay]
) -> HttpResponse | None:
    refunds = list(queryset.select_related("ticket", "ticket__shop").order_by("submitted_at", "pk"))
    if "apply" in request.POST:
        form = PayoutForm(request.POST)
        if form.is_valid():
            try:
                settled = refunds_payout_record(
                    refund_ids=[refund.pk for refund in refunds],
                    channel=form.cleaned_data["channel"],
                    reference=form.cleaned_data["reference"],
                    paid_at=form.cleaned_data["paid_at"],
                    actor=request_actor(request),
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    ngettext(
                        "%(count)d refund recorded as paid; tickets refunded: %(tickets)s.",
                        "%(count)d refunds recorded as paid; tickets refunded: %(tickets)s.",
                        len(settled),
                    )
                    % {"count": len(settled), "tickets": ", ".join(r.ticket.number or "" for r in refunds)},
                )
                return None
    else:
        form = PayoutForm(initial={"paid_at": timezone.localtime().replace(second=0, microsecond=0)})
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Record payout"),
        "opts": modeladmin.model._meta,
        "refunds": refunds,
        "total": sum((refund.amount for refund in refunds), start=0),
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/tickets/refundtopay/record_payout.html", context)


@admin.register(RefundToPay)
class RefundToPayAdmin(admin.ModelAdmin):
    list_display = ["idempotency_key", "ticket_number", "shop", "amount", "submitted_at", "age"]
    list_filter = [("ticket__shop", admin.RelatedOnlyFieldListFilter), AgeFilter]
    search_fields = ["=idempotency_key", "=ticket__number", "=ticket__order__number"]
    actions = [record_payout]
    list_display_links = None
    show_full_result_count = False

    def get_urls(self) -> list[Any]:
        reconcile = self.admin_site.admin_view(lambda request: reconcile_view(self, request))
        return [path("reconcile/", reconcile, name="tickets_refundtopay_reconcile"), *super().get_urls()]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RefundToPay]:
        return _queue()

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_pay(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_pay(request)

    def has_pay_permission(self, request: HttpRequest) -> bool:
        return may_pay(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("ticket"), ordering="ticket__number")
    def ticket_number(self, obj: RefundToPay) -> str:
        return obj.ticket.number or ""

    @admin.display(description=gettext_lazy("shop"), ordering="ticket__shop__name")
    def shop(self, obj: RefundToPay) -> str:
        return obj.ticket.shop.name

    @admin.display(description=gettext_lazy("waiting for"), ordering="submitted_at")
    def age(self, obj: RefundToPay) -> str:
        if obj.submitted_at is None:
            return ""
        waited = timezone.now() - obj.submitted_at
        hours = int(waited.total_seconds() // 3600)
        text = _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}
        if waited > timedelta(hours=settings.KEFU_REFUND_PAYOUT_HOURS):
            return format_html('<span class="kefu-overdue">{}</span>', text)
        return text


def _queue() -> QuerySet[RefundToPay]:
    """``refunds_to_pay`` as the proxy's rows (the finance queue's list)."""
    return (
        RefundToPay.objects.filter(pk__in=refunds_to_pay().values("pk"))
        .select_related("ticket", "ticket__shop")
        .order_by("submitted_at", "pk")
    )
