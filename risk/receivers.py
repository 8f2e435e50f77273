"""The risk app's subscription to the ticket core's timeline (``tickets.signals.ticket_event_recorded``).

It runs inside the change's transaction and only hands work over for after the commit: the profile's refresh, a
new return's fast-refund rules, an evidence photo's fingerprint, each a Celery task taking ids (risk.tasks). The
hand-off is the notification outbox's (notifications.publishing.publish_on_commit): after the commit, by this
process's publisher thread, never waiting for the broker in the request and never raising. A message lost with
the broker loses nothing for good: the nightly refresh recomputes every profile and fingerprints any photo missed.
"""

from __future__ import annotations

from typing import Any

from notifications.publishing import publish_on_commit
from risk import tasks
from risk.services.flags import RISK_ACTOR
from tickets.models import EventType, Ticket, TicketEvent

# Entries that change a profile's figures: a new ticket, a state change (a refund, a cancellation), the buyer's
# words (a threat), evidence. Assignments, warnings and escalations change none.
REFRESHING = frozenset({EventType.CREATED, EventType.TRANSITION, EventType.COMMENT, EventType.EVIDENCE})


def ticket_event_received(sender: type, *, event: TicketEvent, ticket: Ticket, **kwargs: Any) -> None:
    if event.actor_name == RISK_ACTOR or event.event_type not in REFRESHING:
        return  # the risk app's own notes change no figure
    if event.event_type == EventType.EVIDENCE:
        if str((event.payload or {}).get("type", "")).startswith("image/"):
            publish_on_commit(tasks.fingerprint_evidence_task, [event.payload["attachment"]])
        return
    if event.event_type == EventType.CREATED and ticket.kind == "return":
        publish_on_commit(tasks.ticket_opened_task, [ticket.pk])
    else:
        publish_on_commit(tasks.refresh_buyer_profiles_task, [ticket.buyer_id])
