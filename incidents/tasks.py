"""Celery tasks of incidents. They take ids, are idempotent, and import the services lazily (the services hand
over to these tasks: incidents.scheduling)."""

from __future__ import annotations

from celery import shared_task


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
