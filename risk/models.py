"""Knowing the buyer: profiles across a shop's tickets, explainable flags, evidence fingerprints, fast-refund rules.

Nothing here is written by the ticket core: the risk app subscribes to the tickets' domain events
(``RiskConfig.ready``) and computes these rows off the request path (risk.tasks). A profile's figures are a
cache of what the tickets and refunds say; ``risk.services.profiles.profile_refresh`` recomputes them whole.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import MONEY, ZERO, Buyer, Shop
from tickets.models import Attachment, ReasonCode, Ticket


class IdentityKind(models.TextChoices):
    PHONE = "phone", _("Phone number")
    EMAIL = "email", _("Email address")
    PLATFORM = "platform", _("Platform buyer id")


class FlagCode(models.TextChoices):
    SERIAL_RETURNER = "serial_returner", _("Serial returner")
    REFUND_ONLY_ABUSE = "refund_only_abuse", _("Refund-only abuse")
    REVIEW_THREAT = "review_threat", _("Threat of a bad review")
    EVIDENCE_REUSE = "evidence_reuse", _("Evidence reuse")


class RiskPolicy(models.Model):
    """A shop's thresholds; an empty field takes the site's default (KEFU_RISK_* settings)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="risk_policy", verbose_name=_("shop"))
    serial_returns_30d = models.PositiveSmallIntegerField(
        _("serial returner: returns in 30 days at least"), null=True, blank=True
    )
    refund_only_90d = models.PositiveSmallIntegerField(
        _("refund-only abuse: refund-only requests in 90 days at least"), null=True, blank=True
    )
    review_threats_365d = models.PositiveSmallIntegerField(
        _("threat of a bad review: threats in 365 days at least"), null=True, blank=True
    )
    evidence_distance = models.PositiveSmallIntegerField(
        _("evidence reuse: photos at most this many bits apart"),
        null=True,
        blank=True,
        help_text=_("Hamming distance of the photos' 64-bit perceptual hashes: 0 is the same picture."),
    )

    class Meta:
        verbose_name = _("risk policy")
        verbose_name_plural = _("risk policies")

    def __str__(self) -> str:
        return str(self.shop)

    def clean(self) -> None:
        if self.evidence_distance is not None and self.evidence_distance > 32:
            raise ValidationError({"evidence_distance": _("At most 32 bits: beyond that any two photos match.")})


class BuyerProfile(models.Model):
    """One buyer identity in one shop, whichever of the shop's buyer rows (channels, accounts) carry it.

    ``key`` is the HMAC digest of the identity (kefu.core.privacy.identity_digest): never the number itself.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="risk_profiles", verbose_name=_("shop"))
    identity_kind = models.CharField(_("identified by"), max_length=16, choices=IdentityKind.choices)
    key = models.CharField(_("identity digest"), max_length=64)
    tickets_30d = models.PositiveIntegerField(_("tickets, 30 days"), default=0)
    tickets_90d = models.PositiveIntegerField(_("tickets, 90 days"), default=0)
    tickets_365d = models.PositiveIntegerField(_("tickets, 365 days"), default=0)
    returns_30d = models.PositiveIntegerField(_("returns, 30 days"), default=0)
    returns_90d = models.PositiveIntegerField(_("returns, 90 days"), default=0)
    returns_365d = models.PositiveIntegerField(_("returns, 365 days"), default=0)
    refunds_30d = models.PositiveIntegerField(_("refunds, 30 days"), default=0)
    refunds_90d = models.PositiveIntegerField(_("refunds, 90 days"), default=0)
    refunds_365d = models.PositiveIntegerField(_("refunds, 365 days"), default=0)
    refund_only_90d = models.PositiveIntegerField(_("refund-only requests, 90 days"), default=0)
    refund_only_365d = models.PositiveIntegerField(_("refund-only requests, 365 days"), default=0)
    refunded_amount = models.DecimalField(_("refunded (365 days)"), default=ZERO, **MONEY)
    ordered_amount = models.DecimalField(_("ordered (365 days)"), default=ZERO, **MONEY)
    review_threats_365d = models.PositiveIntegerField(_("threats of bad reviews, 365 days"), default=0)
    cancelled_after_refund = models.PositiveIntegerField(_("returns cancelled after a refund"), default=0)
    evidence_reuses = models.PositiveIntegerField(_("reused evidence photos"), default=0)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("buyer profile")
        verbose_name_plural = _("buyer profiles")
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="risk_profile_unique_per_shop")]

    def __str__(self) -> str:
        return f"{self.get_identity_kind_display()} {self.key[:8]}…"

    @property
    def refunded_share(self) -> int:
        """Refunded as a percentage of ordered (365 days), rounded down."""
        return int(self.refunded_amount * 100 / self.ordered_amount) if self.ordered_amount else 0


class BuyerIdentity(models.Model):
    """Which profile a buyer row belongs to, by the digests of its contact details (refreshed with the profile)."""

    buyer = models.OneToOneField(Buyer, on_delete=models.CASCADE, related_name="risk_identity", verbose_name=_("buyer"))
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    phone_digest = models.CharField(_("phone digest"), max_length=64, blank=True)
    email_digest = models.CharField(_("email digest"), max_length=64, blank=True)
    profile = models.ForeignKey(
        BuyerProfile, on_delete=models.CASCADE, related_name="identities", verbose_name=_("profile")
    )

    class Meta:
        verbose_name = _("buyer identity")
        verbose_name_plural = _("buyer identities")
        indexes = [
            models.Index(fields=["shop", "phone_digest"], name="risk_identity_phone_idx"),
            models.Index(fields=["shop", "email_digest"], name="risk_identity_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_id} → {self.profile_id}"


class RiskFlag(models.Model):
    """A reason to look closer at a buyer (``ticket`` empty) or at one ticket (evidence reuse), with the facts.

    ``params`` are the facts that raised it (counts, thresholds, the other ticket and distance): the text is
    rendered from ``code`` and ``params`` in the reader's language (risk.wording). A flag is cleared, never
    deleted, when its facts no longer hold.
    """

    profile = models.ForeignKey(BuyerProfile, on_delete=models.CASCADE, related_name="flags", verbose_name=_("profile"))
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="risk_flags", verbose_name=_("ticket")
    )
    related_ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("related ticket")
    )
    code = models.CharField(_("flag"), max_length=32, choices=FlagCode.choices)
    params = models.JSONField(_("facts"), default=dict)
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)

    class Meta:
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")
        ordering = ["raised_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "code"],
                condition=Q(ticket__isnull=True, cleared_at__isnull=True),
                name="risk_flag_one_open_per_buyer",
            ),
            models.UniqueConstraint(
                fields=["ticket", "code", "related_ticket"],
                condition=Q(cleared_at__isnull=True),
                name="risk_flag_one_open_per_ticket_pair",
            ),
        ]
        indexes = [models.Index(fields=["profile"], name="risk_flag_open_idx", condition=Q(cleared_at__isnull=True))]

    def __str__(self) -> str:
        return self.get_code_display()


class EvidenceFingerprint(models.Model):
    """The perceptual hash of an evidence photo (imagehash's pHash, 64 bits, stored as a signed integer)."""

    attachment = models.OneToOneField(
        Attachment, on_delete=models.CASCADE, related_name="risk_fingerprint", verbose_name=_("attachment")
    )
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket"))
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop"))
    phash = models.BigIntegerField(_("perceptual hash"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("evidence fingerprint")
        verbose_name_plural = _("evidence fingerprints")
        indexes = [models.Index(fields=["shop", "created_at"], name="risk_fingerprint_shop_idx")]

    def __str__(self) -> str:
        return f"{self.phash & 0xFFFFFFFFFFFFFFFF:016x}"


class FastRefundRule(models.Model):
    """极速退款: approve a return when it opens, without a person, when every condition holds.

    Applied by risk.services.fast_refunds through the ticket services (``ticket_act`` approve as the system);
    never for a flagged buyer. Before enabling one, its backtest on the page shows what it would have decided.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="fast_refund_rules", verbose_name=_("shop"))
    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=False)
    max_amount = models.DecimalField(_("requested amount at most (¥)"), **MONEY)
    refund_only = models.BooleanField(
        _("refund-only requests only"), default=True, help_text=_("Off: returns with goods back are approved too.")
    )
    reasons = models.ManyToManyField(
        ReasonCode,
        blank=True,
        related_name="+",
        verbose_name=_("reasons allowed"),
        help_text=_("Empty: any reason."),
    )
    max_refunds_90d = models.PositiveSmallIntegerField(
        _("buyer's refunds in 90 days at most"), default=0, help_text=_("A clean history: 0 refunds before.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("fast-refund rule")
        verbose_name_plural = _("fast-refund rules")
        ordering = ["shop", "pk"]
        constraints = [models.CheckConstraint(condition=Q(max_amount__gt=0), name="fast_refund_amount_positive")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.max_amount is not None and self.max_amount <= 0:
            errors["max_amount"] = _("The amount must be above ¥0.00.")
        if errors:
            raise ValidationError(errors)
