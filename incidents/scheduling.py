"""Handing an incident's telling to its Celery task (incidents.tasks) after the caller's commit.

Its own module so that the services that start, answer and close incidents can schedule the telling without
importing the telling itself (incidents.messaging imports incidents.closing, which schedules).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from incidents.models import Incident
from incidents.tasks import incident_tell_task
from notifications.publishing import publish_on_commit


def chain_key(incident_id: int) -> str:
    """The cache key a running telling refreshes at each run (the beat sweep leaves such an incident alone)."""
    return f"kefu:incidents:tell-chain:{incident_id}"


def chain_mark(incident_id: int) -> None:
    """Say a telling of the incident is under way for the next few ticks (refreshed by each run)."""
    cache.set(chain_key(incident_id), 1, timeout=max(30, int(3 * settings.KEFU_INCIDENT_TELL_TICK_SECONDS)))


def chain_alive(incident_id: int) -> bool:
    return cache.get(chain_key(incident_id)) is not None


def incident_tell_schedule(incident: Incident) -> None:
    """Have the incident's buyers told (or, once it is closed, sent its closing) by ``incident_tell_task`` once
    the caller's transaction commits, at the incident's rate. Safe to call again: a second chain waits for the
    first on the incident's row lock and shares its window (incidents.messaging), so nobody is told twice and the
    rate holds."""
    chain_mark(incident.pk)
    publish_on_commit(incident_tell_task, [incident.pk])
