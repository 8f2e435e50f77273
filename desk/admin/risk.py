"""Risk control in the admin: shops' thresholds, fast-refund rules with their backtest, profiles and flags.

Profiles and flags are computed by the risk app (risk.services) and read-only here. A fast-refund rule starts
switched off; its page shows what it would have decided on the shop's last 90 days before anyone enables it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from desk.admin.inlines import ReadOnlyMixin
from risk.models import BuyerProfile, FastRefundRule, RiskFlag, RiskPolicy
from risk.selectors import ShownFlag, flagged_tickets_q
from risk.services.fast_refunds import rule_backtest
from risk.wording import flag_facts
from tickets.models import Ticket


class RiskFilter(admin.SimpleListFilter):
    """Tickets whose buyer is flagged (or not): one subquery on the open flags."""

    title = _("risk")
    parameter_name = "risk"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("flagged", _("Flagged buyer")), ("clean", _("No flag"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> QuerySet[Ticket]:
        if self.value() == "flagged":
            return queryset.filter(flagged_tickets_q())
        if self.value() == "clean":
            return queryset.exclude(flagged_tickets_q())
        return queryset


def flag_badges(flags: list[ShownFlag]) -> str:
    """The flags as red labels, each with its facts as the tooltip (the ticket page lists the facts in full)."""
    if not flags:
        return ""
    return format_html_join(
        " ",
        '<span class="kefu-risk-flag" data-flag="{}" title="{}">{}</span>',
        ((f.code, f.facts, f.label) for f in flags),
    )


@admin.register(RiskPolicy)
class RiskPolicyAdmin(admin.ModelAdmin):
    list_display = ["shop", "serial_returns_30d", "refund_only_90d", "review_threats_365d", "evidence_distance"]
    list_select_related = ["shop"]


@admin.register(FastRefundRule)
class FastRefundRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "shop", "enabled", "max_amount", "refund_only", "max_refunds_90d"]
    list_filter = ["enabled", "shop"]
    list_select_related = ["shop"]
    filter_horizontal = ["reasons"]
    fields = ["shop", "name", "max_amount", "refund_only", "reasons", "max_refunds_90d", "backtest", "enabled"]

    def get_readonly_fields(self, request: HttpRequest, obj: FastRefundRule | None = None) -> list[str]:
        # A new rule is saved switched off: its backtest is shown on its page, then it may be enabled.
        return ["backtest"] if obj is not None else ["backtest", "enabled"]

    @admin.display(description=_("backtest (last 90 days)"))
    def backtest(self, obj: FastRefundRule | None) -> str:
        if obj is None or obj.pk is None:
            return str(_("Save the rule (it stays off) to see what it would have decided on the last 90 days."))
        result = rule_backtest(rule=obj)
        text = ngettext(
            "Would have approved %(tickets)s request for ¥%(amount)s in the last %(days)s days; %(disputed)s of "
            "them later turned out disputed (escalated, arbitrated, the platform stepped in, or a complaint).",
            "Would have approved %(tickets)s requests for ¥%(amount)s in the last %(days)s days; %(disputed)s of "
            "them later turned out disputed (escalated, arbitrated, the platform stepped in, or a complaint).",
            result.tickets,
        )
        params = {"tickets": result.tickets, "amount": result.amount, "days": result.days, "disputed": result.disputed}
        return format_html('<div id="kefu-backtest">{}</div>', text % params)


@admin.register(BuyerProfile)
class BuyerProfileAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "shop",
        "returns_30d",
        "refunds_90d",
        "refund_only_90d",
        "review_threats_365d",
        "evidence_reuses",
        "computed_at",
    ]
    list_filter = ["shop"]
    list_select_related = ["shop"]


@admin.register(RiskFlag)
class RiskFlagAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["code", "facts", "ticket", "raised_at", "cleared_at"]
    list_filter = ["code", "cleared_at"]
    list_select_related = ["ticket"]

    @admin.display(description=_("facts"))
    def facts(self, obj: RiskFlag) -> str:
        return flag_facts(obj.code, obj.params)
