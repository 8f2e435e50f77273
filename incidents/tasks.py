"""Celery tasks of incidents. They take ids, are idempotent (incidents.services), and import services lazily."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def incident_open_tickets_task(incident_id: int) -> dict:
    """Open the tickets of a started incident's affected orders, a chunk per transaction (safe to run twice)."""
    from incidents.models import Incident
    from incidents.services import incident_open_tickets

    incident = Incident.objects.prefetch_related("shops").filter(pk=incident_id).first()
    if incident is None:
        return {"opened": 0, "linked": 0, "flagged": 0, "skipped": 0}
    result = incident_open_tickets(incident)
    return {"opened": result.opened, "linked": result.linked, "flagged": result.flagged, "skipped": len(result.skipped)}


@shared_task(acks_late=True, ignore_result=True)
def incident_rescan_task() -> dict:
    """Beat (KEFU_INCIDENT_RESCAN_SECONDS): tickets for orders that started matching a running incident since."""
    from incidents.services import incident_rescan

    result = incident_rescan()
    return {"opened": result.opened, "linked": result.linked, "flagged": result.flagged, "skipped": len(result.skipped)}


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def incident_tell_task(incident_ids: list[int]) -> dict[str, int]:
    """Tell the next batch of each incident's buyers (incidents.messaging.incident_tell_run) and schedule the next
    run one tick later while some are left. Returns how many were told and are left."""
    from incidents.messaging import incident_tell_run

    told = left = 0
    for incident_id in incident_ids:
        run = incident_tell_run(incident_id=incident_id)
        told += run.told
        left += run.left
    return {"told": told, "left": left}


@shared_task(acks_late=True, ignore_result=True)
def incident_tell_sweep_task() -> dict[str, int]:
    """Beat: restart the telling of incidents with buyers still to tell and no telling under way (a lost message,
    a broker outage, a killed worker)."""
    from incidents.messaging import incident_tell_sweep

    return {"restarted": incident_tell_sweep()}
