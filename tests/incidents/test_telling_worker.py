"""Telling with real Celery workers on a private Redis broker: every buyer is told once, never faster than the
incident's rate across all workers, and a restart (the worker stopped mid-way, the telling scheduled again, two
worker processes taking over) tells nobody twice.

The window is shortened to a few seconds (``KEFU_INCIDENT_TELL_WINDOW_SECONDS``, read from the environment by the
worker processes too) so the test runs in seconds: the allowance per window is the incident's
``messages_per_minute``. The outbox rows' ``created_at`` are the moments the buyers were told. PostgreSQL: the
workers and the test share the database from several connections (``transaction=True``).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction

from incidents.messaging import incident_tell_schedule
from incidents.models import Incident, IncidentTicket
from notifications.models import Event, Notification
from tests.incidents.affected import running_incident
from tests.markers import requires_postgres
from tests.notifications.conftest import broker  # noqa: F401  (the fixture: a private Redis for this test)
from tests.notifications.support import wait_until, worker_process, worker_thread, workers_answering

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BUYERS = 14
PER_WINDOW = 4
WINDOW = 3.0
TICK = 1.0
RATE_ENV = {
    "KEFU_INCIDENT_TELL_WINDOW_SECONDS": str(WINDOW),
    "KEFU_INCIDENT_TELL_TICK_SECONDS": str(TICK),
    "KEFU_PUBLIC_BASE_URL": "http://testserver",
}


@pytest.fixture(autouse=True)
def _rate(settings, monkeypatch):
    settings.KEFU_INCIDENT_TELL_WINDOW_SECONDS = WINDOW
    settings.KEFU_INCIDENT_TELL_TICK_SECONDS = TICK
    settings.KEFU_PUBLIC_BASE_URL = "http://testserver"


def told(incident: Incident) -> int:
    return IncidentTicket.objects.filter(incident=incident, told_at__isnull=False).count()


def notices(incident: Incident) -> list[Notification]:
    return list(
        Notification.objects.filter(event=Event.INCIDENT_NOTICE, ticket__incident_link__incident=incident).order_by(
            "created_at"
        )
    )


def most_in_any_window(incident: Incident) -> int:
    times = [n.created_at for n in notices(incident)]
    window = timedelta(seconds=WINDOW)
    return max((sum(1 for t in times[i:] if t - first < window) for i, first in enumerate(times)), default=0)


def test_a_worker_tells_every_buyer_once_and_a_restart_with_two_workers_tells_nobody_twice(broker) -> None:  # noqa: F811
    with transaction.atomic():
        incident = running_incident(count=BUYERS, messages_per_minute=PER_WINDOW)  # schedules the telling

    with worker_thread():
        wait_until(lambda: told(incident) >= PER_WINDOW + 1, timeout=60, what="the first buyers told")
    stopped_at = told(incident)
    assert stopped_at < BUYERS, "the rate let everyone through at once"

    # Restarted: scheduled again twice (an operator, the beat sweep) while the first chain's next run is still
    # queued, and two worker processes consume at once.
    with transaction.atomic():
        incident_tell_schedule(incident)
    with transaction.atomic():
        incident_tell_schedule(incident)
    with worker_process(broker.url, "tell-a", RATE_ENV), worker_process(broker.url, "tell-b", RATE_ENV):
        workers_answering(2)
        wait_until(lambda: told(incident) == BUYERS, timeout=120, what="every buyer told")

    rows = notices(incident)
    assert len(rows) == BUYERS
    assert set(Counter(n.ticket_id for n in rows).values()) == {1}  # once each, whoever ran the batches
    assert most_in_any_window(incident) <= PER_WINDOW
    # Spread over the windows: BUYERS at PER_WINDOW a window cannot take less than this.
    span = (rows[-1].created_at - rows[0].created_at).total_seconds()
    assert span >= (BUYERS // PER_WINDOW - 1) * WINDOW
