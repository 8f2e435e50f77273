"""Celery tasks of the notification relay. They take ids, are idempotent, and acknowledge late.

Imports the relay (delivery) and publishing, never ``notifications.services``: the services hand their rows
over to ``deliver_notifications_task`` (through ``notifications.publishing``), so they import this module.
"""

from __future__ import annotations

from collections import Counter

from celery import shared_task
from django.utils import timezone

from notifications.leasing import next_in_line
from notifications.models import Notification, Status
from notifications.publishing import publish
from notifications.relay import notification_deliver, relay_pending


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_notifications_task(notification_ids: list[int]) -> dict[str, int]:
    """Deliver the notifications now, one after the other; schedule each failed one again at its backoff time.

    The database row is the source of truth: a message naming rows that are gone, sent or held by another
    worker skips them, and if a re-scheduling message is lost, the periodic relay still sends the row when it
    is due. A row waiting behind an earlier message of its ticket to the same recipient is skipped here
    ("waiting"): whoever delivers (or dead-letters) that earlier one delivers the next in line right after it,
    so a ticket's messages follow each other without waiting for the periodic relay. Returns how many were
    "sent", "failed", "dead", "skipped", "waiting" and "expired".
    """
    outcomes: Counter[str] = Counter()
    todo = list(notification_ids)
    for pk in todo:  # grows while it runs: the next in line after each sent or dead-lettered one
        outcome = notification_deliver(notification_id=pk)
        outcomes[outcome] += 1
        if outcome in ("sent", "dead"):
            following = next_in_line(pk)
            if following is not None and following not in todo:
                todo.append(following)
        if outcome == "failed":
            due = (
                Notification.objects.filter(pk=pk, status=Status.PENDING)
                .values_list("next_attempt_at", flat=True)
                .first()
            )
            if due is not None:
                # Broker trouble only logs: the periodic relay takes over.
                publish(deliver_notifications_task, [pk], countdown=max(0.0, (due - timezone.now()).total_seconds()))
    return dict(outcomes)


@shared_task(acks_late=True, ignore_result=True)
def relay_pending_notifications_task() -> dict:
    """Beat: deliver whatever is pending and due (after a broker outage, a lost message, a killed worker)."""
    result = relay_pending()
    return {"sent": result.sent, "failed": result.failed, "dead": result.dead, "expired": result.expired}
