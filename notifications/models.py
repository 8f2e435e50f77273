"""The notification outbox, message templates, and where each audience is reached.

A ``Notification`` row is written in the same transaction as the ticket change it tells about (by the
subscriber of the ticket core's ``tickets.signals.ticket_event_recorded``, which the timeline choke point
tickets.services.engine.event_record sends inside that transaction), so a rolled-back change sends nothing and a
committed one is always sent: the relay (notifications.relay) delivers pending rows, retries with
backoff, and dead-letters after ``KEFU_NOTIFY_MAX_ATTEMPTS``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.outbound import mask_url
from kefu.core.privacy import mask_recipient
from orders.models import Shop
from routing.models import Department
from tickets.models import Ticket, TicketEvent


class Event(models.TextChoices):
    TICKET_CREATED = "ticket_created", _("Ticket created")
    STATE_CHANGED = "state_changed", _("State changed")
    ASSIGNED = "assigned", _("Assigned")
    DEADLINE_WARNING = "deadline_warning", _("Deadline approaching")
    SLA_BREACHED = "sla_breached", _("SLA breached")
    PUBLIC_COMMENT = "public_comment", _("Public comment")
    CLOSED = "closed", _("Closed")
    # Staff wording (department robots and members): a ticket that now needs the department, and an automatic
    # action the deadline sweep took on the merchant's behalf (notifications.services.deliveries_for).
    TICKET_ARRIVED = "ticket_arrived", _("Ticket needs the department")
    DEADLINE_ACTED = "deadline_acted", _("Deadline passed, acted automatically")
    # A risk flag raised on an open ticket's buyer (the risk app notes it on the timeline): staff wording only.
    RISK_FLAGGED = "risk_flagged", _("Risk flag raised")
    # 回访 (quality): the buyer's satisfaction request after a resolution, and the supervisors' note of a low
    # answer (notifications.messages, called by quality.services).
    SATISFACTION_REQUEST = "satisfaction_request", _("Satisfaction request")
    LOW_SATISFACTION = "low_satisfaction", _("Low satisfaction score")
    # A department's queue projected to breach (surge.services.alerts): staff wording, to the supervisors, sent
    # with the first ticket at risk as the message's ticket.
    SURGE_ALERT = "surge_alert", _("Queue projected to breach")
    # Incidents (issue 17): what an incident tells each affected buyer, at its controlled rate, with the signed
    # answer link, and the closing message when it is closed (incidents.messaging).
    INCIDENT_NOTICE = "incident_notice", _("Incident notice")
    INCIDENT_CLOSED = "incident_closed", _("Incident closed")


class Channel(models.TextChoices):
    WEBHOOK = "webhook", _("Storefront webhook")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk group robot")


class Audience(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    ASSIGNEE = "assignee", _("Assignee")
    DEPARTMENT = "department", _("Department")
    SUPERVISORS = "supervisors", _("Supervisors")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Template(models.Model):
    """A message per event, channel and language (快捷短语), rendered with Django's template language.

    ``channel`` empty is the default for every channel without its own template.
    """

    event = models.CharField(_("event"), max_length=32, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(
        _("body"),
        help_text=_(
            "Django template. Context: ticket.number, ticket.kind_label, ticket.state_label, order.number, "
            "shop.name, buyer.name, due_at, reason, comment, assignee, department."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["event", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "language"], name="template_unique_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} / {self.channel or '*'} / {self.language}"


class ShopChannels(models.Model):
    """How a shop's buyers are told: the storefront webhook (``Shop.webhook_url``), SMS, email; language."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="notification_channels", verbose_name=_("shop")
    )
    webhook = models.BooleanField(_("storefront webhook"), default=True)
    sms = models.BooleanField(_("SMS"), default=False)
    email = models.BooleanField(_("email"), default=False)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS)

    class Meta:
        verbose_name = _("buyer notification channels")
        verbose_name_plural = _("buyer notification channels")

    def __str__(self) -> str:
        return str(self.shop)


class DepartmentRobot(models.Model):
    """A WeCom or DingTalk group robot a department is told through (else its members get email)."""

    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="robots", verbose_name=_("department")
    )
    channel = models.CharField(
        _("channel"),
        max_length=16,
        choices=[(Channel.WECOM, Channel.WECOM.label), (Channel.DINGTALK, Channel.DINGTALK.label)],
    )
    url = models.URLField(_("webhook URL"), max_length=500)
    secret = models.CharField(_("signing secret (DingTalk)"), max_length=128, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department robot")
        verbose_name_plural = _("department robots")

    def __str__(self) -> str:
        return f"{self.department} · {self.get_channel_display()}"


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    DEAD = "dead", _("Dead-lettered")


class Notification(models.Model):
    """One message to one recipient over one channel: the outbox row and its delivery log."""

    # No index of its own: notification_ticket_idx (ticket, created_at) serves the lookups by ticket.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="notifications", db_index=False, verbose_name=_("ticket")
    )
    # The timeline entry the message tells of. Written once, never looked up by it: no index, no constraint, and
    # nothing done when the entry goes (SET_NULL would have to find the rows, through an index every message
    # would write); the id then points at nothing.
    timeline_event = models.ForeignKey(
        TicketEvent,
        on_delete=models.DO_NOTHING,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=_("timeline event"),
    )
    event = models.CharField(_("event"), max_length=32, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    recipient = models.CharField(_("recipient"), max_length=500)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("body"))
    payload = models.JSONField(_("payload"), default=dict)
    # The receiver's de-duplication key: the same message delivered twice carries the same key. Unique through a
    # constraint (notification_dedup_key_unique), not unique=True: that also adds a LIKE index no query uses.
    dedup_key = models.CharField(_("de-duplication key"), max_length=64)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The lease (notifications.leasing): which worker is sending the row; meanwhile ``next_attempt_at`` is when
    # the lease ends (a leased row is not due, so no other worker takes it before). Set and cleared in short
    # transactions of their own; no row lock is held while the message is sent. Neither column is indexed, so
    # taking a lease is an in-place (HOT) update on PostgreSQL: the table's fillfactor (50, migration 0005)
    # leaves each page room for the new versions of its rows.
    lease_owner = models.CharField(_("leased by"), max_length=64, blank=True)
    # When the message's current run of failed attempts began (cleared when it is sent or resent): a pending
    # message holds back the later messages of its ticket to the same recipient for at most
    # KEFU_NOTIFY_ORDER_HOLD_SECONDS after this.
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        # No index on next_attempt_at or lease_owner: the lease writes both (see above). The relay finds due rows
        # through notification_pending_id_idx, oldest first.
        constraints = [models.UniqueConstraint(fields=["dedup_key"], name="notification_dedup_key_unique")]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="notification_ticket_idx"),
            # The relay takes pending rows oldest first, by id (so a ticket's earlier message comes first).
            models.Index(fields=["id"], name="notification_pending_id_idx", condition=Q(status="pending")),
            # "Is an earlier message of this ticket to this recipient still pending?" (the delivery order).
            models.Index(
                fields=["ticket", "channel", "recipient", "id"],
                name="notification_queue_idx",
                condition=Q(status="pending"),
            ),
            # "Is an earlier message of this ticket to this recipient failing and waiting for its retry?" (a
            # batch leaves out the messages behind it): only the failing messages, written when a failure is.
            models.Index(
                fields=["ticket", "channel", "recipient", "id"],
                name="notification_failing_idx",
                condition=Q(status="pending", failing_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} → {self.recipient_shown} ({self.get_channel_display()})"

    @property
    def recipient_shown(self) -> str:
        """The recipient as lists and titles show it: a buyer's phone or email masked (kefu.core.privacy), a
        robot's token masked (kefu.core.outbound)."""
        if self.audience == Audience.BUYER:
            return mask_recipient(self.channel, self.recipient)
        return mask_url(self.recipient)
