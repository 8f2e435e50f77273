"""The append-only timeline of a ticket, and the evidence attached to it.

A ``TicketEvent`` is written by the services in the same transaction as the change it records and is
never updated or deleted: ``save`` refuses an existing row, ``delete`` always refuses, and on PostgreSQL a
trigger (migration 0002) refuses UPDATE and DELETE from any client. A ticket's history, its SLA figures and
the replay check in the tests all read from here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.actors import ActorKind
from tickets.models.base import Ticket


class EventType(models.TextChoices):
    CREATED = "created", _("Created")
    TRANSITION = "transition", _("State changed")
    COMMENT = "comment", _("Comment")
    ASSIGNMENT = "assignment", _("Assignment")
    EVIDENCE = "evidence", _("Evidence attached")
    REFUND = "refund", _("Refund")
    ESCALATION = "escalation", _("Escalation")
    WARNING = "warning", _("Deadline warning")
    # A marketplace changed something that is not a transition (its deadline for the merchant, its ruling's note).
    PLATFORM = "platform", _("Marketplace update")


class AppendOnlyError(Exception):
    """Raised when code tries to change or delete a timeline entry."""


class TicketEvent(models.Model):
    # Indexed by ticket_event_timeline_idx (ticket, created_at), not on its own.
    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="events", verbose_name=_("ticket"), db_index=False
    )
    event_type = models.CharField(_("type"), max_length=16, choices=EventType.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now, editable=False)
    actor_kind = models.CharField(_("actor kind"), max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff user"),
        db_index=False,  # ticket_event_actor_user_idx: only staff's entries (buyers' and the system's write none)
    )
    actor_name = models.CharField(_("actor"), max_length=200)
    transition = models.CharField(_("transition"), max_length=64, blank=True)
    from_state = models.CharField(_("from state"), max_length=32, blank=True)
    to_state = models.CharField(_("to state"), max_length=32, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    public = models.BooleanField(
        _("visible to the buyer"), default=True, help_text=_("Internal notes are seen by staff only.")
    )
    payload = models.JSONField(_("payload"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # On the event that ends a step (a transition): the step's figures, written once, for SLA reports.
    step_state = models.CharField(_("step state"), max_length=32, blank=True)
    step_department = models.CharField(_("step department"), max_length=32, blank=True)
    step_started_at = models.DateTimeField(_("step started at"), null=True, blank=True)
    step_due_at = models.DateTimeField(_("step deadline"), null=True, blank=True)
    step_seconds = models.PositiveBigIntegerField(_("step duration (s)"), null=True, blank=True)
    step_met = models.BooleanField(_("step met its deadline"), null=True, blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="ticket_event_timeline_idx"),
            models.Index(
                fields=["actor_user"], name="ticket_event_actor_user_idx", condition=Q(actor_user__isnull=False)
            ),
            # SLA figures (dashboard.sla.sla_summary): the steps that ended in a period, with every
            # column those GROUP BY queries read, so they are answered from the index alone.
            models.Index(
                fields=["created_at", "step_department", "step_state", "step_met", "step_seconds", "id"],
                name="ticket_event_step_idx",
                condition=Q(step_seconds__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        if self.event_type == EventType.TRANSITION:
            return f"{self.from_state} → {self.to_state} ({self.transition}) by {self.actor_name}"
        return f"{self.get_event_type_display()} by {self.actor_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Timeline events are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Timeline events are append-only and cannot be deleted.")


def evidence_upload_to(instance: Attachment, filename: str) -> str:
    now = timezone.now()
    return f"evidence/{now:%Y/%m}/{instance.ticket_id}/{filename}"


class Attachment(models.Model):
    """Evidence (photos, video) attached to a ticket, stored through Django's storage API."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("ticket"))
    file = models.FileField(_("file"), upload_to=evidence_upload_to, max_length=300)
    original_name = models.CharField(_("original name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=64)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    public = models.BooleanField(_("visible to the buyer"), default=True)
    actor_kind = models.CharField(_("uploaded by (kind)"), max_length=16, choices=ActorKind.choices)
    actor_name = models.CharField(_("uploaded by"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name
