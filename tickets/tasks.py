"""Celery tasks of the ticket engine. They take ids, are idempotent, and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from tickets.payments import GatewayError
from tickets.services.deadlines import sweep_due
from tickets.services.refund_sweeps import refunds_escalate_overdue, refunds_poll_submitted, refunds_relay
from tickets.services.refunds import MAX_REFUND_ATTEMPTS, refund_execute
from tickets.services.stalled_parcels import stalled_parcels_open_tickets


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(GatewayError,),
    retry_backoff=30,
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=MAX_REFUND_ATTEMPTS - 1,
)
def execute_refund_task(self, refund_id: int) -> None:  # noqa: ARG001 - bound for retries
    """Submit a reserved refund to its payer; retried with exponential backoff on gateway errors, then escalated."""
    refund_execute(refund_id=refund_id)


def refund_ready_received(*, refund_id: int, **_kwargs: object) -> None:
    """``tickets.signals.refund_ready``, after the reservation's commit: queue the payment."""
    execute_refund_task.delay(refund_id)


@shared_task(acks_late=True, ignore_result=True)
def relay_pending_refunds_task() -> int:
    """Beat: submit refunds left requested (their task was never queued, or was lost)."""
    return refunds_relay()


@shared_task(acks_late=True, ignore_result=True)
def poll_submitted_refunds_task() -> dict:
    """Beat: ask the providers about submitted refunds, then escalate those unconfirmed past
    KEFU_REFUND_PAYOUT_HOURS (manual payouts included)."""
    return {"settled": refunds_poll_submitted(), "escalated": refunds_escalate_overdue()}


def _sweep_deadlines() -> dict:
    result = sweep_due()
    return {
        "transitioned": result.transitioned,
        "escalated": result.escalated,
        "warned": result.warned,
        "skipped": result.skipped,
        "errors": len(result.errors),
    }


def _open_stalled_parcel_tickets() -> int:
    return stalled_parcels_open_tickets(hours=settings.KEFU_STALLED_PARCEL_HOURS)


@shared_task(acks_late=True)
def sweep_deadlines_task() -> dict:
    """Beat: warnings and due tickets. Safe to run on several workers at once (SKIP LOCKED), and idempotent."""
    return _sweep_deadlines()


@shared_task(acks_late=True)
def open_stalled_parcel_tickets_task() -> int:
    """Beat: one logistics ticket per parcel without a tracking event for KEFU_STALLED_PARCEL_HOURS."""
    return _open_stalled_parcel_tickets()


# The names these two tasks had while they lived in routing/tasks.py. A beat that still runs the old code, or a
# message it queued before the deploy (they expire after 5 and 30 minutes), names them so: registered here, a
# worker runs them instead of dropping them as unknown. Schedules stored under the old names were renamed by
# routing/migrations/0004; remove these two once every beat runs this code.
sweep_deadlines_legacy_task = shared_task(name="routing.tasks.sweep_deadlines_task", acks_late=True)(_sweep_deadlines)
open_stalled_parcel_tickets_legacy_task = shared_task(
    name="routing.tasks.open_stalled_parcel_tickets_task", acks_late=True
)(_open_stalled_parcel_tickets)
