"""What the queue watch recorded: each alert sent to supervisors, with the projection it was sent on.

Reinforcements (staff moved into another department's queue) are ``routing.Reinforcement``: routing and the
tickets' scope read them, and both sit below this app (docs/surge.md).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from routing.models import Department


class SurgeAlert(models.Model):
    """One alert of a department's projected breaches (surge.services.alerts): never more than one per department
    within ``KEFU_SURGE_ALERT_COOLDOWN_MINUTES``. The figures are those of the watch that raised it."""

    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="surge_alerts", verbose_name=_("department")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    arrivals_per_hour = models.FloatField(_("arrivals per hour"))
    handled_per_hour = models.FloatField(_("handled per hour"))
    backlog = models.PositiveIntegerField(_("backlog"))
    breaches = models.PositiveIntegerField(_("projected breaches"))
    hours_to_breach = models.FloatField(_("hours to the first breach"), null=True, blank=True)
    horizon_hours = models.FloatField(_("horizon (hours)"))
    # The open tickets projected to breach, in the order they would: [{"id", "number", "due_at", "breach_in_hours"}].
    at_risk = models.JSONField(_("tickets at risk"), default=list, blank=True)
    notified = models.PositiveIntegerField(_("messages sent"), default=0)

    class Meta:
        verbose_name = _("surge alert")
        verbose_name_plural = _("surge alerts")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["department", "-created_at"], name="surge_alert_department_idx")]

    def __str__(self) -> str:
        return f"{self.department} · {self.created_at:%Y-%m-%d %H:%M}"
