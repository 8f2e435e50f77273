"""Shops, buyers, orders, their lines and shipments: what after-sales tickets are about.

Money is ``Decimal`` in yuan with two places (fen). ``OrderLine.refunded_amount`` is the running total of
refunds reserved against a line; the database refuses a value above the paid amount, so no code path can
refund more than was paid even if a service check were wrong.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class _Money(TypedDict):
    max_digits: int
    decimal_places: int


# Every amount: yuan with two places (``**MONEY`` in a DecimalField).
MONEY: _Money = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Channel(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    PDD = "pdd", _("Pinduoduo")
    OWN = "own", _("Own shop")


def webhook_secrets_at(current: str, previous: str, previous_until: datetime | None, now: datetime | None) -> list[str]:
    """What a webhook is signed with: ``current`` and, until ``previous_until``, ``previous`` (rotation overlap)."""
    secrets = [current] if current else []
    if previous and previous_until is not None and previous_until > (now or timezone.now()):
        secrets.append(previous)
    return secrets


class Shop(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    return_window_days = models.PositiveSmallIntegerField(
        _("return window (days after delivery)"),
        default=7,
        help_text=_("七天无理由: how many days after delivery a buyer may still ask for a return or exchange."),
    )
    webhook_url = models.URLField(_("storefront webhook URL"), blank=True)
    webhook_secret = models.CharField(_("webhook signing secret"), max_length=128, blank=True)
    # After a rotation (orders.services.shop_webhook_secret_rotate) webhooks carry a second signature, with the
    # secret before it, until ``webhook_secret_previous_until``: the storefront has that long to switch.
    webhook_secret_previous = models.CharField(
        _("previous webhook signing secret"), max_length=128, blank=True, editable=False
    )
    webhook_secret_previous_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    # Compensation limits (Settings and secrets, issue 12; checked by tickets.services.acting before a compensation).
    compensation_cap = models.DecimalField(
        _("compensation cap (¥)"),
        null=True,
        blank=True,
        help_text=_("The most one compensation may be; empty: up to what the order still has paid."),
        **MONEY,
    )
    compensation_approval_threshold = models.DecimalField(
        _("compensation needing a second approval above (¥)"),
        null=True,
        blank=True,
        help_text=_(
            "A compensation above this amount waits for a supervisor other than the one who proposed it; empty: "
            "the site's default (KEFU_COMPENSATION_APPROVAL_THRESHOLD)."
        ),
        **MONEY,
    )
    # Return postage (issue 14; tickets.services.postage): what the shop refunds at most when a return is its fault.
    return_postage_cap = models.DecimalField(
        _("return postage refunded at most (¥)"),
        null=True,
        blank=True,
        help_text=_(
            "For returns that are the shop's fault (quality, wrong item, damaged, not as described), the buyer's "
            "return postage is refunded on proof up to this amount; empty: the site's default "
            "(KEFU_RETURN_POSTAGE_CAP)."
        ),
        **MONEY,
    )
    # Where buyers send returns and exchanges (canned replies' ``{{ return_address }}``, replies.rendering): the
    # text the buyer copies into the courier's form, recipient and phone included.
    return_address = models.TextField(
        _("return address"),
        blank=True,
        help_text=_("Recipient, phone and address buyers send returns to, as canned replies quote it."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_channel_display()})"

    # Webhooks are signed with this secret (notifications.channels.webhook), which refuses to send unsigned ones.
    MIN_SECRET_LENGTH = 16
    MAX_RETURN_WINDOW_DAYS = 365

    def webhook_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets webhooks are signed with now: the current one, and the previous one during its overlap."""
        return webhook_secrets_at(
            self.webhook_secret, self.webhook_secret_previous, self.webhook_secret_previous_until, now
        )

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.webhook_url and not self.webhook_secret:
            errors["webhook_secret"] = _(
                "A webhook URL needs a signing secret: every webhook is signed with it, and none is sent without one."
            )
        elif self.webhook_secret and len(self.webhook_secret) < self.MIN_SECRET_LENGTH:
            errors["webhook_secret"] = _(
                "Use at least %(min)d random characters, so the signature cannot be guessed."
            ) % {"min": self.MIN_SECRET_LENGTH}
        if self.return_window_days > self.MAX_RETURN_WINDOW_DAYS:
            errors["return_window_days"] = _("At most %(max)d days.") % {"max": self.MAX_RETURN_WINDOW_DAYS}
        if errors:
            raise ValidationError(errors)


class BuyerTier(models.TextChoices):
    REGULAR = "regular", _("Regular")
    VIP = "vip", _("VIP")
    SVIP = "svip", _("Super VIP")


class Buyer(models.Model):
    """A buyer as known to one shop (platform buyer ids are per platform, so per shop)."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="buyers", verbose_name=_("shop"))
    external_id = models.CharField(_("buyer id in the shop"), max_length=128)
    name = models.CharField(_("name"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    email = models.EmailField(_("email"), blank=True)
    tier = models.CharField(_("tier"), max_length=16, choices=BuyerTier.choices, default=BuyerTier.REGULAR)

    class Meta:
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        constraints = [models.UniqueConstraint(fields=["shop", "external_id"], name="buyer_unique_per_shop")]
        indexes = [models.Index(fields=["phone"], name="buyer_phone_idx")]

    def __str__(self) -> str:
        return self.name or self.external_id


class OrderStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    DELIVERED = "delivered", _("Delivered")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class PaymentProvider(models.TextChoices):
    """Who refunds an order (tickets.payments.gateway_for): the finance queue, or the provider the buyer paid
    through. A marketplace order is refunded by its platform whatever this says."""

    MANUAL = "manual", _("Manual payout (finance queue)")
    ALIPAY = "alipay", _("Alipay")
    WECHATPAY = "wechatpay", _("WeChat Pay")


class Order(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop"))
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="orders", verbose_name=_("buyer"))
    number = models.CharField(_("order number"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PAID)
    paid_at = models.DateTimeField(_("paid at"))
    # db_default too: raw inserts (benchmarks/dashboard_data.py) name only the columns they fill.
    payment_provider = models.CharField(
        _("payment provider"),
        max_length=16,
        choices=PaymentProvider.choices,
        default=PaymentProvider.MANUAL,
        db_default=PaymentProvider.MANUAL,
    )
    # 运费险: the buyer's return postage of a no-fault return (七天无理由) is paid by the insurer, not the shop.
    shipping_insurance = models.BooleanField(_("shipping insurance (运费险)"), default=False, db_default=False)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [models.UniqueConstraint(fields=["shop", "number"], name="order_number_unique_per_shop")]
        indexes = [models.Index(fields=["number"], name="order_number_idx")]

    def __str__(self) -> str:
        return self.number

    def return_window_ends_at(self) -> datetime | None:
        """The last moment a return or exchange may be asked for; None while not delivered.

        The window counts whole days after delivery in the shop's time zone: delivered on the 1st with a
        7-day window, the buyer may ask until the end of the 8th.
        """
        if self.delivered_at is None:
            return None
        local = timezone.localtime(self.delivered_at)
        last_day = local.date() + timedelta(days=self.shop.return_window_days)
        return timezone.make_aware(datetime.combine(last_day, time.max))


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    paid_amount = models.DecimalField(_("paid amount"), **MONEY)
    # Reserved and paid refunds against this line; only tickets.services.refunds changes it, under a row lock.
    refunded_amount = models.DecimalField(_("refunded amount"), default=ZERO, **MONEY)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        # An incident's scope by SKU (incidents.scope): the orders with a line of a recalled or sold-out SKU.
        indexes = [models.Index(fields=["sku"], name="order_line_sku_idx")]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="order_line_sku_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(condition=Q(paid_amount__gte=0), name="order_line_paid_not_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="order_line_refunded_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("paid_amount")), name="order_line_refund_within_paid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} × {self.quantity}"

    @property
    def refundable_amount(self) -> Decimal:
        return self.paid_amount - self.refunded_amount


class ShipmentDirection(models.TextChoices):
    OUTBOUND = "outbound", _("To the buyer")
    RETURN = "return", _("Back from the buyer")
    REPLACEMENT = "replacement", _("Replacement to the buyer")


class ShipmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_TRANSIT = "in_transit", _("In transit")
    DELIVERED = "delivered", _("Delivered")
    EXCEPTION = "exception", _("Exception")
    RETURNED = "returned", _("Returned to sender")


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments", verbose_name=_("order"))
    direction = models.CharField(
        _("direction"), max_length=16, choices=ShipmentDirection.choices, default=ShipmentDirection.OUTBOUND
    )
    carrier = models.CharField(_("carrier"), max_length=64)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=ShipmentStatus.choices, default=ShipmentStatus.PENDING
    )
    shipped_at = models.DateTimeField(_("shipped at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("last tracking event at"), null=True, blank=True)
    # "浙江省/杭州市": province, then city, as the marketplace gives them (connectors); an incident's scope matches
    # a prefix (incidents.scope). db_default: raw inserts (benchmarks) name only the columns they fill.
    origin_region = models.CharField(_("origin region"), max_length=64, blank=True, default="", db_default="")
    destination_region = models.CharField(_("destination region"), max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_number"], name="shipment_tracking_unique"),
        ]
        indexes = [
            models.Index(fields=["tracking_number"], name="shipment_tracking_idx"),
            # An incident's scope (incidents.scope): the outbound parcels of a carrier, by status and ship date.
            models.Index(
                fields=["carrier", "status", "shipped_at"],
                name="shipment_outbound_scope_idx",
                condition=Q(direction="outbound"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class TrackingEvent(models.Model):
    """One carrier scan. ``event_id`` is the carrier's id, so a feed delivered twice is recorded once."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events", verbose_name=_("shipment"))
    event_id = models.CharField(_("carrier event id"), max_length=128)
    occurred_at = models.DateTimeField(_("occurred at"))
    status = models.CharField(_("status"), max_length=16, choices=ShipmentStatus.choices)
    location = models.CharField(_("location"), max_length=200, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["occurred_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "event_id"], name="tracking_event_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shipment} {self.status} @ {self.occurred_at:%Y-%m-%d %H:%M}"
