"""Surge (surge app, docs/surge.md): each department's queue watched, breaches projected, supervisors alerted."""

from kefu.conf.framework import CELERY_BEAT_SCHEDULE, env

# How often the watch runs (beat task surge.tasks.watch_queues_task); it also records reinforcements' expiry.
KEFU_SURGE_WATCH_SECONDS = env.float("KEFU_SURGE_WATCH_SECONDS", default=300.0)
# How far ahead the queue is played forward.
KEFU_SURGE_HORIZON_HOURS = env.float("KEFU_SURGE_HORIZON_HOURS", default=4.0)
# The recent past the rates are measured over (arrivals and handled tickets per hour).
KEFU_SURGE_WINDOW_HOURS = env.float("KEFU_SURGE_WINDOW_HOURS", default=2.0)
# Supervisors are alerted when at least this many breaches are projected within the horizon …
KEFU_SURGE_ALERT_MIN_BREACHES = env.int("KEFU_SURGE_ALERT_MIN_BREACHES", default=5)
# … at most once per department in this many minutes.
KEFU_SURGE_ALERT_COOLDOWN_MINUTES = env.int("KEFU_SURGE_ALERT_COOLDOWN_MINUTES", default=60)

CELERY_BEAT_SCHEDULE["surge-watch"] = {
    "task": "surge.tasks.watch_queues_task",
    "schedule": KEFU_SURGE_WATCH_SECONDS,
}
