"""The ticket page's read-only inlines: the lines the ticket is about, and its refunds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tickets.models import Refund, TicketLine
from tickets.selectors import ticket_line_shares


class ReadOnlyMixin:
    """View-only: no add, change or delete, whoever the user (superusers included)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketLineInline(ReadOnlyMixin, admin.TabularInline):
    model = TicketLine
    fields = ("sku", "name", "quantity", "ordered", "paid_share", "refunded_amount")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = _("items this ticket is about")

    def get_queryset(self, request: HttpRequest) -> QuerySet[TicketLine]:
        return super().get_queryset(request).select_related("order_line")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # part of the ticket page; whoever may open the ticket sees its lines

    @admin.display(description=_("SKU"))
    def sku(self, obj: TicketLine) -> str:
        return obj.order_line.sku

    @admin.display(description=_("item"))
    def name(self, obj: TicketLine) -> str:
        return obj.order_line.name

    @admin.display(description=_("of ordered"))
    def ordered(self, obj: TicketLine) -> int:
        return obj.order_line.quantity

    @admin.display(description=_("paid for this quantity"))
    def paid_share(self, obj: TicketLine) -> str:
        # Which of the line's units are this ticket's depends on the tickets before it (one query a row).
        return f"¥{ticket_line_shares([obj])[0]}"


class RefundInline(ReadOnlyMixin, admin.TabularInline):
    model = Refund
    fields = (
        "idempotency_key",
        "amount",
        "status",
        "payer",
        "reference",
        "payout_channel",
        "created_at",
        "completed_at",
    )
    readonly_fields = fields
    extra = 0
    show_change_link = True

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # the ticket's own refunds are part of its page (the refund list is for supervisors)
