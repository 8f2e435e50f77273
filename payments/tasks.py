"""Celery tasks of the payments app: ids in, services called, idempotent."""

from __future__ import annotations

from celery import shared_task

from payments.services.payouts import payout_transfer_execute, payouts_to_retry
from tickets.payments import GatewayError


@shared_task(bind=True, max_retries=5, acks_late=True)
def transfer_payout_task(self: object, payout_id: int) -> None:
    """Send a compensation transfer; a provider without an answer is asked again with the same key."""
    try:
        payout_transfer_execute(payout_id=payout_id)
    except GatewayError as exc:
        retries = getattr(getattr(self, "request", None), "retries", 0)
        raise self.retry(exc=exc, countdown=30 * 2**retries) from exc  # type: ignore[attr-defined]


@shared_task
def retry_payouts_task() -> int:
    """Every few minutes: the transfers left submitted (a lost answer, an outage), sent again with their key."""
    done = 0
    for payout_id in payouts_to_retry():
        try:
            payout_transfer_execute(payout_id=payout_id)
        except GatewayError:
            continue
        done += 1
    return done
