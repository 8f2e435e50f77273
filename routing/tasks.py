"""Periodic tasks of routing and deadlines (scheduled by Celery beat, see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from routing.sweep import stalled_parcels_open_tickets, sweep_due


@shared_task(acks_late=True)
def sweep_deadlines_task() -> dict:
    """Warnings and due tickets. Safe to run on several workers at once (SKIP LOCKED), and idempotent."""
    result = sweep_due()
    return {
        "transitioned": result.transitioned,
        "escalated": result.escalated,
        "warned": result.warned,
        "skipped": result.skipped,
        "errors": len(result.errors),
    }


@shared_task(acks_late=True)
def open_stalled_parcel_tickets_task() -> int:
    """One logistics ticket per parcel without a tracking event for KEFU_STALLED_PARCEL_HOURS."""
    return stalled_parcels_open_tickets(hours=settings.KEFU_STALLED_PARCEL_HOURS)
