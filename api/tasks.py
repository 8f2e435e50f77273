"""Celery tasks of the API: housekeeping only (they take no arguments, are idempotent, and call services)."""

from __future__ import annotations

from celery import shared_task

from api.idempotency import idempotency_records_purge


@shared_task(acks_late=True, ignore_result=True)
def purge_idempotency_records_task() -> int:
    """Beat: delete Idempotency-Key records past their window (KEFU_IDEMPOTENCY_TTL_HOURS); returns how many."""
    return idempotency_records_purge()
