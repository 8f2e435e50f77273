"""回访: the satisfaction request sent once per resolved ticket with the buyer's answer, and the supervisors'
follow-up task a low answer opens (docs/desk.md, "Satisfaction (回访)").

Written only by quality.services: a ``Survey`` when a ticket is resolved (one per ticket, by its unique ticket),
its answer once (``answered_at``), and a ``FollowUp`` for a low answer (one per survey, by its unique survey).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tickets.models import Ticket

SCORES = range(1, 6)


class Survey(models.Model):
    """The satisfaction request of one resolved ticket, and the buyer's answer once given.

    The signed link (quality.tokens) names this row; it works until ``expires_at`` and takes one answer.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="satisfaction", verbose_name=_("ticket")
    )
    language = models.CharField(_("language"), max_length=8)
    sent_at = models.DateTimeField(_("requested at"), default=timezone.now)
    expires_at = models.DateTimeField(_("link expires at"))
    score = models.PositiveSmallIntegerField(
        _("score"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="survey_score_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True, answered_at__isnull=True)
                | Q(score__isnull=False, answered_at__isnull=False),
                name="survey_answer_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.score or '—'}"

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


class FollowUpStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("follow-up", "Open")
    DONE = "done", pgettext_lazy("follow-up", "Done")


class FollowUp(models.Model):
    """A supervisor's task: call back the buyer who gave a low score. One per survey."""

    survey = models.OneToOneField(Survey, on_delete=models.CASCADE, related_name="follow_up", verbose_name=_("survey"))
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+", verbose_name=_("ticket"))
    status = models.CharField(_("status"), max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("satisfaction follow-up")
        verbose_name_plural = _("satisfaction follow-ups")
        ordering = ["status", "-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="follow_up_status_idx")]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.get_status_display()}"
