"""Celery tasks of the ticket engine. They take ids, are idempotent, and call services."""

from __future__ import annotations

from celery import shared_task

from tickets.payments import GatewayError
from tickets.services.refunds import MAX_REFUND_ATTEMPTS, refund_execute, refunds_relay


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
    """Pay a reserved refund; retried with exponential backoff on gateway errors, then escalated."""
    refund_execute(refund_id=refund_id)


@shared_task(acks_late=True, ignore_result=True)
def relay_pending_refunds_task() -> int:
    """Beat: pay refunds left pending (their task was never queued, or was lost)."""
    return refunds_relay()
