"""Reason codes (supervisors' configuration) and refunds (read-only, paid by the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from desk.admin.inlines import ReadOnlyMixin
from tickets.models import Kind, ReasonCode, Refund


class ReasonCodeForm(forms.ModelForm):
    kinds = forms.TypedMultipleChoiceField(
        label=_("ticket kinds"),
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("The ticket kinds this reason may be chosen for."),
    )

    class Meta:
        model = ReasonCode
        fields = ["code", "label_zh", "label_en", "kinds", "active", "sort_order"]

    # Reasons the services give themselves when they open a linked refund (tickets.services.exchanges and
    # .logistics); switching them off would make those transitions fail. Keep in step with those modules.
    SYSTEM_REASONS = {"out_of_stock": Kind.RETURN, "not_received": Kind.RETURN}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what ModelForm.clean returns
        code = self.instance.code if self.instance.pk else data.get("code")
        needed = self.SYSTEM_REASONS.get(code or "")
        if needed and (not data.get("active") or needed not in (data.get("kinds") or [])):
            raise forms.ValidationError(
                _("The services use '%(code)s' for linked refunds: it must stay active and allowed for %(kind)s."),
                params={"code": code, "kind": needed},
            )
        if data.get("active") and not data.get("kinds"):
            self.add_error(
                "kinds", _("An active reason must be offered for at least one ticket kind; tick one or switch it off.")
            )
        return data


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    form = ReasonCodeForm
    list_display = ["code", "label_zh", "label_en", "kinds_display", "active", "sort_order"]
    list_editable = ["sort_order"]
    list_filter = ["active"]
    search_fields = ["code", "label_zh", "label_en"]

    def get_readonly_fields(self, request: HttpRequest, obj: ReasonCode | None = None) -> list[str]:
        # The code is what integrations send and tickets refer to: set once, then stable.
        return ["code"] if obj is not None else []

    def has_delete_permission(self, request: HttpRequest, obj: ReasonCode | None = None) -> bool:
        # Tickets keep their reason (PROTECT); a reason no longer offered is switched off instead.
        return False

    @admin.display(description=_("ticket kinds"))
    def kinds_display(self, obj: ReasonCode) -> str:
        return ", ".join(str(Kind(k).label) for k in obj.kinds if k in Kind.values)


@admin.register(Refund)
class RefundAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Refunds are reserved and paid by ``tickets.services.refunds`` only; here they are looked at."""

    list_display = ["idempotency_key", "ticket", "amount", "status", "payer", "attempts", "created_at", "completed_at"]
    list_filter = ["status", "payer"]
    search_fields = ["=idempotency_key", "=ticket__number", "=reference"]
    list_select_related = ["ticket"]
    show_full_result_count = False
    fields = [
        "ticket",
        "amount",
        "status",
        "idempotency_key",
        "allocations",
        "payer",
        "reference",
        "message",
        "payout_channel",
        "attempts",
        "last_error",
        "created_at",
        "submitted_at",
        "paid_at",
        "confirmed_at",
        "confirmed_by",
        "completed_at",
    ]
