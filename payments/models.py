"""Payment accounts (Alipay, WeChat Pay) per shop, the coupon pool, and compensation payouts.

Secrets (private keys, the APIv3 key) are stored encrypted (kefu.core.crypto) and shown write-only in the admin.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.crypto import EncryptedTextField
from orders.models import MONEY, Shop
from tickets.models import Ticket
from tickets.payments import PayoutStatus


class Provider(models.TextChoices):
    ALIPAY = "alipay", _("Alipay")
    WECHATPAY = "wechatpay", _("WeChat Pay")


class PaymentAccount(models.Model):
    """A shop's merchant account at a provider: what kefu signs with and what it verifies the answers with."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="payment_accounts", verbose_name=_("shop"))
    provider = models.CharField(_("provider"), max_length=16, choices=Provider.choices)
    active = models.BooleanField(_("active"), default=True)
    base_url = models.URLField(
        _("gateway address"),
        blank=True,
        help_text=_("Empty: the provider's production address (Alipay's gateway.do, WeChat Pay's API)."),
    )
    app_id = models.CharField(_("app id"), max_length=64, help_text=_("Alipay app_id, or WeChat Pay's appid."))
    merchant_id = models.CharField(_("merchant id"), max_length=32, blank=True, help_text=_("WeChat Pay mchid."))
    merchant_serial = models.CharField(
        _("merchant certificate serial"),
        max_length=64,
        blank=True,
        help_text=_("WeChat Pay: the API certificate's serial."),
    )
    private_key = EncryptedTextField(
        _("private key"), blank=True, help_text=_("Alipay: the application private key; WeChat Pay: the API key (PEM).")
    )
    provider_public_key = models.TextField(
        _("provider public key"),
        blank=True,
        help_text=_("Alipay's public key, or WeChat Pay's platform public key or platform certificate (PEM)."),
    )
    provider_key_id = models.CharField(
        _("provider key id"),
        max_length=64,
        blank=True,
        help_text=_("WeChat Pay: the platform public key id (PUB_KEY_ID_…) or platform certificate serial."),
    )
    # Alipay's certificate mode (公钥证书模式), required for transfers: all three, or none (public-key mode).
    # Certificates are public: stored as they are, like provider_public_key.
    app_certificate = models.TextField(
        _("application public-key certificate"),
        blank=True,
        help_text=_("Alipay certificate mode: appCertPublicKey_<app id>.crt (PEM)."),
    )
    provider_certificate = models.TextField(
        _("provider public-key certificate"),
        blank=True,
        help_text=_("Alipay certificate mode: alipayCertPublicKey_RSA2.crt (PEM)."),
    )
    provider_root_certificate = models.TextField(
        _("provider root certificate"),
        blank=True,
        help_text=_("Alipay certificate mode: alipayRootCert.crt (PEM, every certificate in the file)."),
    )
    apiv3_key = EncryptedTextField(_("APIv3 key"), blank=True, help_text=_("WeChat Pay: decrypts notifications."))
    notify_url = models.URLField(
        _("notification address"), blank=True, help_text=_("kefu's webhook the provider posts refund results to.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("payment account")
        verbose_name_plural = _("payment accounts")
        constraints = [models.UniqueConstraint(fields=["shop", "provider"], name="payment_account_per_shop")]

    def __str__(self) -> str:
        return f"{self.shop} · {self.get_provider_display()}"

    @property
    def uses_certificates(self) -> bool:
        """Alipay's certificate mode: the account has its certificates (the admin accepts all three or none)."""
        return bool(self.app_certificate and self.provider_certificate and self.provider_root_certificate)


class CouponCode(models.Model):
    """A code from a shop's pool, given to a buyer as compensation; issued exactly once (issued_to)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="coupon_codes", verbose_name=_("shop"))
    code = models.CharField(_("code"), max_length=64)
    value = models.DecimalField(_("value"), **MONEY)
    issued_to = models.OneToOneField(
        Ticket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupon_code",
        verbose_name=_("issued to"),
    )
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="coupon_code_unique_per_shop"),
            models.CheckConstraint(condition=Q(value__gt=0), name="coupon_code_value_positive"),
        ]
        indexes = [
            models.Index(fields=["shop", "value"], condition=Q(issued_to__isnull=True), name="coupon_code_free_idx")
        ]

    def __str__(self) -> str:
        return f"{self.code} (¥{self.value})"


class PayoutMethod(models.TextChoices):
    ALIPAY_TRANSFER = "alipay_transfer", _("Alipay transfer")
    WECHATPAY_TRANSFER = "wechatpay_transfer", _("WeChat Pay merchant transfer")
    COUPON = "coupon", _("Coupon code")
    MANUAL = "manual", _("Paid by hand")


class CompensationPayout(models.Model):
    """How a logistics ticket's compensation was (or is being) paid.

    One payout per ticket that has not failed (``compensation_payout_one_live``): a failed transfer may be
    followed by another way, never by a second payment. ``idempotency_key`` is the transfer's out_biz_no
    (Alipay) or out_detail_no (WeChat Pay): a retry after a timeout sends the same key and pays once.
    """

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="compensation_payouts", verbose_name=_("ticket")
    )
    method = models.CharField(_("method"), max_length=24, choices=PayoutMethod.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    status = models.CharField(_("status"), max_length=16, choices=PayoutStatus.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    payee = models.CharField(_("payee"), max_length=128, blank=True, help_text=_("Alipay login id or WeChat openid."))
    payee_name = models.CharField(_("payee name"), max_length=64, blank=True)
    coupon = models.OneToOneField(
        CouponCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("coupon code")
    )
    reference = models.CharField(_("reference"), max_length=128, blank=True)
    message = models.TextField(_("message"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("compensation payout")
        verbose_name_plural = _("compensation payouts")
        constraints = [
            models.UniqueConstraint(
                fields=["ticket"], condition=~Q(status=PayoutStatus.FAILED), name="compensation_payout_one_live"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="compensation_payout_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} ¥{self.amount} ({self.get_status_display()})"
