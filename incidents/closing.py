"""Closing an incident: what is left open is closed through each ticket's declared transitions, with the closing
message sent to the buyers at the incident's rate.

``incident_close`` marks the incident closed (who, when, the closing message) and hands the rest to the telling
(incidents.messaging): each of its runs takes the next buyers within the rate, closes each one's ticket with
``incidents.ticket_closing.affected_close`` and sends the closing message, in one transaction per batch. The state
changes therefore reach the buyers at the same controlled rate as the messages, never all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.errors import IncidentClosed, IncidentNotRunning
from incidents.locks import incident_lock
from incidents.messaging import incident_tell_schedule
from incidents.models import Incident, IncidentStatus
from kefu.core.errors import ValidationFailed
from tickets.actors import Actor
from tickets.errors import NotPermitted


def _messages(closing_message: Mapping[str, Any] | str) -> dict[str, str]:
    if isinstance(closing_message, str):
        closing_message = {settings.LANGUAGE_CODE: closing_message}
    texts = {str(code): str(text).strip() for code, text in closing_message.items() if str(text or "").strip()}
    if not texts:
        raise ValidationFailed(_("Write the closing message in at least one language."), field="closing_message")
    return texts


def incident_close(
    *, incident: Incident, actor: Actor, closing_message: Mapping[str, Any] | str, now: datetime | None = None
) -> Incident:
    """Close a running incident (a supervisor): status closed, the closing message kept ({language: text}, or one
    text in the site's language), and the telling scheduled to close each ticket left and tell its buyer.

    Raises ``NotPermitted`` (not a supervisor), ``ValidationFailed`` (no closing text), ``IncidentNotRunning`` (a
    draft), ``IncidentClosed`` (closed already); then nothing is written. Buyers' answers are refused from now on
    (incidents.answers).
    """
    if not actor.is_supervisor:
        raise NotPermitted(_("Only supervisors close an incident."))
    texts = _messages(closing_message)
    now = now or timezone.now()
    with transaction.atomic():
        locked = incident_lock(incident.pk)
        if locked.status != IncidentStatus.RUNNING:
            error = IncidentClosed if locked.status == IncidentStatus.CLOSED else IncidentNotRunning
            raise error(
                _("Incident “%(incident)s” is %(status)s: only a running incident can be closed.")
                % {"incident": locked.title, "status": locked.get_status_display()},
                field="status",
            )
        locked.status = IncidentStatus.CLOSED
        locked.closed_at = now
        locked.closed_by = actor.user
        locked.closing_message = texts
        locked.save(update_fields=["status", "closed_at", "closed_by", "closing_message"])
        incident_tell_schedule(locked)
    return locked
