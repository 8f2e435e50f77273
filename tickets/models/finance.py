"""Money beside the tickets: the finance queue's view of refunds (a proxy: the same rows, its own admin page and
permission checks), and who pays a return's postage."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import MONEY
from tickets.models.base import Refund


class RefundToPay(Refund):
    """A manual refund submitted and waiting for finance to record how it was paid (``tickets.pay_refund``)."""

    class Meta:
        proxy = True
        verbose_name = _("refund to pay")
        verbose_name_plural = _("refunds to pay")
        default_permissions = ()  # the finance queue opens with tickets.pay_refund (Refund's own permission)


class PostagePayer(models.TextChoices):
    """Who pays the return postage (tickets.services.postage decides it from the reason and 运费险)."""

    SHOP = "shop", _("the shop")
    BUYER = "buyer", _("the buyer")
    INSURER = "insurer", _("the shipping insurance (运费险)")


class ReturnPostage(models.Model):
    """A return's postage (tickets.services.postage): what the buyer paid to send the goods back, its proof, who
    pays it by the reason, and what the shop refunds of it (added to the refund). Fields of ``ReturnTicket``."""

    return_postage = models.DecimalField(_("return postage paid by the buyer"), null=True, blank=True, **MONEY)
    return_postage_proof = models.ForeignKey(
        "tickets.Attachment", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("postage proof")
    )
    return_postage_payer = models.CharField(
        _("return postage paid by"), max_length=16, choices=PostagePayer.choices, blank=True, db_default=""
    )
    return_postage_refund = models.DecimalField(_("postage refunded by the shop"), null=True, blank=True, **MONEY)

    class Meta:
        abstract = True
