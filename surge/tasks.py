"""Celery tasks of the surge app: services called, idempotent."""

from __future__ import annotations

from celery import shared_task

from surge.services.alerts import surge_watch
from surge.services.reinforcements import reinforcements_expire


@shared_task(acks_late=True, ignore_result=True)
def watch_queues_task() -> int:
    """Every KEFU_SURGE_WATCH_SECONDS: reinforcements past their end recorded (their tickets back to the queue),
    then every department's queue projected and supervisors alerted where breaches are coming. Returns the
    number of alerts raised."""
    reinforcements_expire()
    return len(surge_watch())
