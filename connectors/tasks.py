"""Celery tasks of the connectors: ids in, services called, idempotent (beat schedules in kefu.settings)."""

from __future__ import annotations

from celery import shared_task

from connectors.models import ShopConnection
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from connectors.services.writeback import relay_writebacks, writeback_send


@shared_task(ignore_result=True)
def send_writeback_task(writeback_id: int) -> str:
    return writeback_send(writeback_id=writeback_id)


@shared_task(ignore_result=True)
def relay_writebacks_task() -> dict[str, int]:
    return relay_writebacks()


@shared_task(ignore_result=True)
def process_inbox_task() -> int:
    return inbox_process().processed


@shared_task(ignore_result=True)
def pull_connection_task(connection_id: int) -> int:
    return connection_pull(connection_id=connection_id).cases


@shared_task(ignore_result=True)
def pull_all_task() -> int:
    """Queue a pull of every active connection (each connection pulls alone: ``connection_pull``'s lock)."""
    ids = list(ShopConnection.objects.filter(active=True).values_list("pk", flat=True))
    for pk in ids:
        pull_connection_task.apply_async((pk,), retry=False)
    return len(ids)


@shared_task(ignore_result=True)
def reconcile_connection_task(connection_id: int) -> int:
    return connection_reconcile(connection_id=connection_id).repaired


@shared_task(ignore_result=True)
def reconcile_all_task() -> int:
    ids = list(ShopConnection.objects.filter(active=True).values_list("pk", flat=True))
    for pk in ids:
        reconcile_connection_task.apply_async((pk,), retry=False)
    return len(ids)
