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

# Telling the affected buyers (incidents.messaging): at most ``messages_per_minute`` buyers of one incident per
# KEFU_INCIDENT_TELL_WINDOW_SECONDS (60: a minute; tests shorten it), spread over ticks of this many seconds.
KEFU_INCIDENT_TELL_WINDOW_SECONDS = env.float("KEFU_INCIDENT_TELL_WINDOW_SECONDS", default=60.0)
KEFU_INCIDENT_TELL_TICK_SECONDS = env.float("KEFU_INCIDENT_TELL_TICK_SECONDS", default=5.0)
# How long the buyer's signed answer link works.
KEFU_INCIDENT_ANSWER_VALID_DAYS = env.int("KEFU_INCIDENT_ANSWER_VALID_DAYS", default=30)
# How a buyer's accepted compensation is paid at once: "coupon" (from the shop's pool, payments.services.coupons);
# "" leaves it to the operations staff (the ticket waits in ``compensating``, as after a staff compensation).
KEFU_INCIDENT_COMPENSATION_METHOD = env.str("KEFU_INCIDENT_COMPENSATION_METHOD", default="coupon")
# Beat restarts the telling of running (and closing) incidents that still have buyers to tell: after a lost
# message, a broker outage or a killed worker (the telling's own chain otherwise carries on by itself).
KEFU_INCIDENT_TELL_SWEEP_SECONDS = env.float("KEFU_INCIDENT_TELL_SWEEP_SECONDS", default=120.0)
CELERY_BEAT_SCHEDULE["incidents-tell"] = {
    "task": "incidents.tasks.incident_tell_sweep_task",
    "schedule": KEFU_INCIDENT_TELL_SWEEP_SECONDS,
    "options": {"expires": 120},
}
# How often an incident's admin page asks for fresh progress figures (htmx poll, desk.admin.incidents).
KEFU_INCIDENT_POLL_SECONDS = env.int("KEFU_INCIDENT_POLL_SECONDS", default=5)
