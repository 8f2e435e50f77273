"""Incidents (应急): one decision for every order a carrier delay, a sell-out or a recall affects.

An ``Incident`` is declared as a scope (filters over orders, their lines and their outbound shipment: see
incidents.scope) and what the affected buyers hear and are offered. Starting it opens one ticket per affected
order (``IncidentTicket``, unique per incident and order, so re-running, widening the scope and the periodic
re-scan never open a second one): incidents.services.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import MONEY, Buyer, Order, Shop


class IncidentKind(models.TextChoices):
    LOGISTICS_DELAY = "logistics_delay", _("Logistics delay")
    OUT_OF_STOCK = "out_of_stock", _("Out of stock")
    QUALITY_RECALL = "quality_recall", _("Quality recall")
    PLATFORM_PROBLEM = "platform_problem", _("Platform problem")
    OTHER = "other", _("Other")


class IncidentOffer(models.TextChoices):
    WAIT = "wait", _("Wait, with compensation")
    EXCHANGE = "exchange", _("Exchange to an alternative SKU")
    REFUND = "refund", _("Refund")


class IncidentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RUNNING = "running", _("Running")
    CLOSED = "closed", _("Closed")


def _default_messages_per_minute() -> int:
    return int(settings.KEFU_INCIDENT_MESSAGES_PER_MINUTE)


class Incident(models.Model):
    """An incident and its scope. A blank scope field matches everything; the scope fields combine with AND.

    Changing the scope of a running incident and starting it again only adds tickets for the orders that newly
    match (incidents.services.incident_start): tickets already opened stay, whatever the scope says now.
    """

    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=IncidentKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.DRAFT, editable=False
    )

    # --- Scope -------------------------------------------------------------------------------------------------
    shops = models.ManyToManyField(
        Shop,
        blank=True,
        related_name="+",
        verbose_name=_("shops"),
        help_text=_("None selected: every shop."),
    )
    channels = models.JSONField(
        _("channels"), default=list, blank=True, help_text=_("Sales channels (orders.Channel); empty: all.")
    )
    carrier = models.CharField(_("carrier"), max_length=64, blank=True, help_text=_("Empty: every carrier."))
    tracking_statuses = models.JSONField(
        _("tracking statuses"),
        default=list,
        blank=True,
        help_text=_("Statuses of the outbound shipment; empty: any."),
    )
    origin_region = models.CharField(
        _("origin region"),
        max_length=64,
        blank=True,
        help_text=_("Where the parcel left from; a prefix: 浙江省 matches 浙江省/杭州市."),
    )
    destination_region = models.CharField(
        _("destination region"),
        max_length=64,
        blank=True,
        help_text=_("Where the parcel goes; a prefix: 浙江省 matches 浙江省/杭州市."),
    )
    skus = models.JSONField(_("SKUs"), default=list, blank=True, help_text=_("Orders with any of them; empty: any."))
    shipped_from = models.DateTimeField(_("shipped from"), null=True, blank=True)
    shipped_until = models.DateTimeField(_("shipped until"), null=True, blank=True)

    # --- What buyers hear and get -------------------------------------------------------------------------------
    message = models.JSONField(
        _("message to buyers"),
        default=dict,
        blank=True,
        help_text=_('Per language code, e.g. {"zh-hans": "…", "en": "…"}.'),
    )
    expected_delivery_date = models.DateField(_("expected delivery date"), null=True, blank=True)
    offers = models.JSONField(
        _("offers"), default=list, blank=True, help_text=_("What each affected buyer may choose from.")
    )
    compensation_amount = models.DecimalField(
        _("compensation (¥)"), null=True, blank=True, help_text=_("For buyers who wait."), **MONEY
    )
    alternative_sku = models.CharField(
        _("alternative SKU"), max_length=64, blank=True, help_text=_("For buyers who take an exchange.")
    )
    messages_per_minute = models.PositiveIntegerField(
        _("messages per minute"),
        default=_default_messages_per_minute,
        help_text=_("How many buyers are told per minute at most."),
    )
    closing_message = models.JSONField(
        _("closing message"),
        default=dict,
        blank=True,
        help_text=_("Sent when the incident is closed, per language code."),
    )

    # --- Who and when -------------------------------------------------------------------------------------------
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True, editable=False)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
        editable=False,
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
        editable=False,
    )

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status"], name="incident_status_idx")]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        from orders.models import Channel, ShipmentStatus

        errors: dict[str, Any] = {}
        offers = list(self.offers or [])
        unknown = [o for o in offers if o not in IncidentOffer.values]
        if not offers:
            errors["offers"] = _("Offer the buyers at least one choice.")
        elif unknown:
            errors["offers"] = _("Unknown offers: %(offers)s.") % {"offers": ", ".join(map(str, unknown))}
        if IncidentOffer.EXCHANGE in offers and not (self.alternative_sku or "").strip():
            errors["alternative_sku"] = _("An exchange needs the alternative SKU buyers get instead.")
        if IncidentOffer.WAIT in offers and not (self.compensation_amount and self.compensation_amount > 0):
            errors["compensation_amount"] = _("Waiting needs a compensation above ¥0.00.")
        message = self.message if isinstance(self.message, dict) else {}
        if not any(isinstance(text, str) and text.strip() for text in message.values()):
            errors["message"] = _("Write the buyers' message in at least one language.")
        if self.shipped_from and self.shipped_until and self.shipped_from > self.shipped_until:
            errors["shipped_until"] = _("The end of the ship date range is before its start.")
        bad_channels = [c for c in self.channels or [] if c not in Channel.values]
        if bad_channels:
            errors["channels"] = _("Unknown channels: %(values)s.") % {"values": ", ".join(map(str, bad_channels))}
        bad_statuses = [s for s in self.tracking_statuses or [] if s not in ShipmentStatus.values]
        if bad_statuses:
            errors["tracking_statuses"] = _("Unknown tracking statuses: %(values)s.") % {
                "values": ", ".join(map(str, bad_statuses))
            }
        if errors:
            raise ValidationError(errors)


class IncidentTicket(models.Model):
    """One affected order of an incident and the ticket it has for it (opened by the incident, or an open ticket
    of the same kind the order already had, linked). Unique per incident and order: the idempotency of
    incidents.services.incident_start rests on it."""

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="affected", verbose_name=_("incident"), db_index=False
    )
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="+", verbose_name=_("order"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="+", verbose_name=_("buyer"))
    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="incident_link", verbose_name=_("ticket")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    told_at = models.DateTimeField(_("told at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer = models.CharField(_("answer"), max_length=16, choices=IncidentOffer.choices, blank=True)
    # The ticket's platform clock runs out before the incident's timeline (its expected delivery date, or an
    # extension of the internal deadlines): escalated, and kept for the progress page.
    platform_flagged_at = models.DateTimeField(_("platform deadline flagged at"), null=True, blank=True)
    # When the incident's closing message was written to the outbox for this buyer, after its ticket was closed by
    # its declared transitions (incidents.closing, at the telling's rate: incidents.messaging).
    closing_told_at = models.DateTimeField(_("closing message sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("affected order")
        verbose_name_plural = _("affected orders")
        constraints = [models.UniqueConstraint(fields=["incident", "order"], name="incident_ticket_unique_order")]
        indexes = [
            # The progress page counts per incident: not yet told (the telling task's queue), answered, flagged.
            models.Index(fields=["incident", "id"], name="incident_untold_idx", condition=Q(told_at__isnull=True)),
            models.Index(fields=["incident", "answer"], name="incident_answer_idx"),
            # The telling's rate: how many buyers of the incident were told within the last window.
            models.Index(fields=["incident", "told_at"], name="incident_told_idx", condition=Q(told_at__isnull=False)),
            models.Index(
                fields=["incident", "closing_told_at"],
                name="incident_closing_told_idx",
                condition=Q(closing_told_at__isnull=False),
            ),
            models.Index(
                fields=["incident"], name="incident_flagged_idx", condition=Q(platform_flagged_at__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.incident} · {self.order}"
