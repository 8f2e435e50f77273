"""Celery tasks of the notification relay. They take ids, are idempotent, and acknowledge late."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from notifications.models import Notification, Status
from notifications.relay import notification_deliver, relay_pending
from notifications.services import hand_to_relay


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver_notification_task(notification_id: int) -> str:
    """Deliver one notification now; on failure schedule the next attempt at its backoff time.

    The database row is the source of truth: if this re-scheduling message is lost, the periodic relay
    still sends the row when it is due.
    """
    outcome = notification_deliver(notification_id=notification_id)
    if outcome == "failed":
        due = (
            Notification.objects.filter(pk=notification_id, status=Status.PENDING)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            # Broker trouble only logs: the periodic relay takes over.
            hand_to_relay([notification_id], countdown=max(0.0, (due - timezone.now()).total_seconds()))
    return outcome


@shared_task(acks_late=True, ignore_result=True)
def relay_pending_notifications_task() -> dict:
    """Beat: deliver whatever is pending and due (after a broker outage, a lost message, a killed worker)."""
    result = relay_pending()
    return {"sent": result.sent, "failed": result.failed, "dead": result.dead, "skipped": result.skipped}
