"""Celery tasks of incidents, under the names beat and the workers know them by. Each is defined beside the work it
runs (the opening in incidents.services.starting, the telling in incidents.messaging), so that the services that
queue them import no module that imports them back; this module gathers them for Celery's autodiscovery."""

from incidents.messaging import incident_tell_sweep_task, incident_tell_task
from incidents.services.starting import incident_open_tickets_task, incident_rescan_task

__all__ = ["incident_open_tickets_task", "incident_rescan_task", "incident_tell_sweep_task", "incident_tell_task"]
