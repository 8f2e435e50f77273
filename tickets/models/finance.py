"""The finance queue's view of refunds (a proxy: the same rows, its own admin page and permission checks)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tickets.models.base import Refund


class RefundToPay(Refund):
    """A manual refund submitted and waiting for finance to record how it was paid (``tickets.pay_refund``)."""

    class Meta:
        proxy = True
        verbose_name = _("refund to pay")
        verbose_name_plural = _("refunds to pay")
        default_permissions = ()  # the finance queue opens with tickets.pay_refund (Refund's own permission)
