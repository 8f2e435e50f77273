"""Shop connections, the index of platform cases, the durable push inbox and the write-back outbox.

- ``ShopConnection``: one shop's account on one platform: credentials (encrypted at rest), the base URL (the
  production gateway by default; a simulator's in tests and the demo), the pull cursor and its health figures.
- ``PlatformCase``: (platform, connection, case id) → the kefu ticket, with the last snapshot applied
  (``modified_at`` + ``version``: the ordering guard of ingestion) and the raw codes.
- ``InboxMessage``: every verified push, stored before it is answered, processed by a task (at least once;
  ``message_id`` unique so a duplicate push is stored once).
- ``WriteBack``: a staff decision to carry out on the platform, written in the decision's transaction and sent
  by the relay task with retries, backoff and a dead letter (``connectors.services.writeback``).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connectors.base import CaseKind, CaseStatus, Platform
from connectors.commands import CommandName
from connectors.crypto import EncryptedTextField
from orders.models import Shop
from tickets.models import Ticket

PLATFORM_CHOICES = [
    (Platform.TAOBAO.value, _("Taobao / Tmall")),
    (Platform.PDD.value, _("Pinduoduo")),
    (Platform.WECHAT.value, _("WeChat Channels shop")),
    (Platform.DOUYIN.value, _("Douyin shop")),
    (Platform.JD.value, _("JD")),
]


class ShopConnection(models.Model):
    """A shop's account on a platform. Secrets are write-only in the admin and encrypted in the database."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="connections", verbose_name=_("shop"))
    platform = models.CharField(_("platform"), max_length=16, choices=PLATFORM_CHOICES)
    # The shop's id on the platform (Taobao seller nick / user id, PDD mall id, …): pushes name it.
    external_id = models.CharField(_("shop id on the platform"), max_length=128)
    active = models.BooleanField(_("active"), default=True)
    base_url = models.CharField(
        _("API base URL"),
        max_length=500,
        blank=True,
        help_text=_("Empty: the platform's production gateway. A simulator's URL in tests and the demo."),
    )
    app_key = models.CharField(_("app key"), max_length=128)
    app_secret = EncryptedTextField(_("app secret"), blank=True)
    access_token = EncryptedTextField(_("access token"), blank=True)
    refresh_token = EncryptedTextField(_("refresh token"), blank=True)
    token_expires_at = models.DateTimeField(_("access token expires at"), null=True, blank=True)
    # The shop's return address as the platform knows it (Taobao seller_address_id, PDD return_address_id, …).
    return_address_id = models.CharField(_("return address id on the platform"), max_length=64, blank=True)
    # Incremental pull: where the next pull starts (opaque to everyone but the connector; an ISO time for TOP).
    pull_cursor = models.CharField(_("pull cursor"), max_length=200, blank=True)
    last_pull_at = models.DateTimeField(_("last pull at"), null=True, blank=True)
    last_pull_error = models.TextField(_("last pull error"), blank=True)
    pulls = models.PositiveIntegerField(_("pulls"), default=0)
    pull_errors = models.PositiveIntegerField(_("failed pulls"), default=0)
    # The running pull's lease (``connectors.services.sync.connection_pull``): taken by one conditional UPDATE,
    # renewed after each page, released at the end; a crashed pull's lease runs out by itself.
    pull_lease = models.CharField(_("pull lease"), max_length=32, blank=True, editable=False)
    pull_leased_until = models.DateTimeField(_("pull leased until"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("shop connection")
        verbose_name_plural = _("shop connections")
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="connection_platform_shop_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} @ {self.get_platform_display()}"

    @property
    def lag(self) -> float | None:
        """Seconds since the last successful pull (None: never pulled)."""
        if self.last_pull_at is None:
            return None
        return (timezone.now() - self.last_pull_at).total_seconds()

    @property
    def error_rate(self) -> float:
        return self.pull_errors / self.pulls if self.pulls else 0.0

    def token_expires_soon(self, now: datetime | None = None) -> bool:
        if self.token_expires_at is None:
            return False
        margin = settings.KEFU_CONNECTOR_TOKEN_REFRESH_MARGIN_SECONDS
        return (self.token_expires_at - (now or timezone.now())).total_seconds() < margin


class PlatformCase(models.Model):
    """One platform case and its kefu ticket. Ingestion locks this row (``SELECT … FOR UPDATE``) before the
    ticket: the lock order for connectors is platform case, then the ticket's own order (tickets.locks)."""

    connection = models.ForeignKey(
        ShopConnection, on_delete=models.PROTECT, related_name="cases", verbose_name=_("connection")
    )
    platform = models.CharField(_("platform"), max_length=16, choices=PLATFORM_CHOICES)
    case_id = models.CharField(_("case id on the platform"), max_length=64)
    order_id = models.CharField(_("order id on the platform"), max_length=64)
    ticket = models.OneToOneField(
        Ticket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="platform_case",
        verbose_name=_("ticket"),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=[(k.value, k.value) for k in CaseKind])
    status = models.CharField(_("status"), max_length=24, choices=[(s.value, s.value) for s in CaseStatus])
    raw_type = models.CharField(_("platform type"), max_length=64, blank=True)
    raw_status = models.CharField(_("platform status"), max_length=64, blank=True)
    unknown = models.BooleanField(_("unknown code"), default=False, help_text=_("A type or status kefu does not map."))
    modified_at = models.DateTimeField(_("modified on the platform at"))
    version = models.BigIntegerField(_("platform version"), default=0)
    merchant_deadline = models.DateTimeField(_("platform deadline for the merchant"), null=True, blank=True)
    refund_fen = models.BigIntegerField(_("requested refund (fen)"), default=0)
    raw = models.JSONField(_("last payload"), default=dict)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("platform case")
        verbose_name_plural = _("platform cases")
        constraints = [
            models.UniqueConstraint(fields=["platform", "connection", "case_id"], name="platform_case_unique"),
        ]
        indexes = [models.Index(fields=["connection", "status"], name="platform_case_status_idx")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.case_id}"


class InboxMessage(models.Model):
    """A verified push, stored before it is answered; processed (fetch + ingest) by ``process_inbox_task``."""

    platform = models.CharField(_("platform"), max_length=16, choices=PLATFORM_CHOICES)
    connection = models.ForeignKey(
        ShopConnection, on_delete=models.CASCADE, null=True, related_name="+", verbose_name=_("connection")
    )
    message_id = models.CharField(_("message id"), max_length=128)
    topic = models.CharField(_("topic"), max_length=128, blank=True)
    case_id = models.CharField(_("case id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"), default=dict)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("inbox message")
        verbose_name_plural = _("inbox messages")
        constraints = [models.UniqueConstraint(fields=["platform", "message_id"], name="inbox_message_unique")]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="inbox_pending_idx", condition=Q(processed_at__isnull=True)),
            # Permanent failures (processed, with an error): counted by /metrics and the connections' admin.
            models.Index(
                fields=["connection"], name="inbox_failed_idx", condition=Q(processed_at__isnull=False) & ~Q(error="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.message_id}"

    FAILED = Q(processed_at__isnull=False) & ~Q(error="")  # given up on: the error says why (admin, /metrics)


class WriteBackStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead")


class WriteBack(models.Model):
    """A command for the platform, from a staff decision (outbox). Sent at least once by the relay; leased
    while being sent (``leased_until``) so two workers never send the same row at once."""

    connection = models.ForeignKey(
        ShopConnection, on_delete=models.PROTECT, related_name="writebacks", verbose_name=_("connection")
    )
    case = models.ForeignKey(PlatformCase, on_delete=models.PROTECT, related_name="writebacks", verbose_name=_("case"))
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+", verbose_name=_("ticket"))
    command = models.CharField(_("command"), max_length=32, choices=[(c.value, c.value) for c in CommandName])
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(
        _("status"), max_length=16, choices=WriteBackStatus.choices, default=WriteBackStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    leased_until = models.DateTimeField(_("leased until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("write-back")
        verbose_name_plural = _("write-backs")
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="writeback_pending_idx", condition=Q(status=WriteBackStatus.PENDING)
            )
        ]

    def __str__(self) -> str:
        return f"{self.command} {self.case} ({self.get_status_display()})"


class Reconciliation(models.Model):
    """One reconciliation run of a connection: what was compared and what was repaired (the admin's report)."""

    connection = models.ForeignKey(
        ShopConnection, on_delete=models.CASCADE, related_name="reconciliations", verbose_name=_("connection")
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    checked = models.PositiveIntegerField(_("cases checked"), default=0)
    repaired = models.PositiveIntegerField(_("repaired in kefu"), default=0)
    resent = models.PositiveIntegerField(_("write-backs resent"), default=0)
    errors = models.PositiveIntegerField(_("errors"), default=0)
    details = models.JSONField(_("details"), default=list)

    class Meta:
        verbose_name = _("reconciliation")
        verbose_name_plural = _("reconciliations")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.connection} {self.started_at:%Y-%m-%d %H:%M}"
