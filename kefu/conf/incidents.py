"""Incidents (issue 17: incidents/, docs/incidents.md): one decision for every order a carrier delay, a sell-out or
a recall affects."""

from kefu.conf.framework import CELERY_BEAT_SCHEDULE, env

# How many buyers of one incident are told per minute at most (the incident's own default; a supervisor may lower
# or raise it per incident), so notification providers and platforms are not flooded.
KEFU_INCIDENT_MESSAGES_PER_MINUTE = env.int("KEFU_INCIDENT_MESSAGES_PER_MINUTE", default=600)
# How many affected orders one transaction of incidents.services.incident_open_tickets opens tickets for.
KEFU_INCIDENT_CHUNK_SIZE = env.int("KEFU_INCIDENT_CHUNK_SIZE", default=200)
# How often beat looks again at the running incidents' scope for orders that started matching since.
KEFU_INCIDENT_RESCAN_SECONDS = env.float("KEFU_INCIDENT_RESCAN_SECONDS", default=600.0)
CELERY_BEAT_SCHEDULE["incidents-rescan"] = {
    "task": "incidents.tasks.incident_rescan_task",
    "schedule": KEFU_INCIDENT_RESCAN_SECONDS,
    "options": {"expires": 600},
}
