"""Celery tasks of the connectors: ids in, services called, idempotent (beat schedules in kefu.settings)."""

from __future__ import annotations

from celery import shared_task

from connectors.services.writeback import relay_writebacks, writeback_send


@shared_task(ignore_result=True)
def send_writeback_task(writeback_id: int) -> str:
    return writeback_send(writeback_id=writeback_id)


@shared_task(ignore_result=True)
def relay_writebacks_task() -> dict[str, int]:
    return relay_writebacks()
