"""The beat-scheduled sweep task, run by a real Celery worker over a real Redis broker.

The worker runs in a thread (``celery.contrib.testing.worker.start_worker``, solo pool) on a Celery app
configured from kefu's own settings (``CELERY_*``, the same task modules) and pointed at Redis, with a
result backend and a queue of its own so it picks up nothing but this test's messages. The rows the test
writes are committed (``transaction=True``) so the worker's own database connection sees them.

Redis: ``CELERY_BROKER_URL`` when it is a Redis URL, otherwise the spare database
``redis://127.0.0.1:6379/5``; unreachable, the test skips with the reason (and fails in CI).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
import time_machine
from celery import Celery
from celery import _state as celery_state
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kefu.celery import app as kefu_app
from tests import markers
from tests.factories.desk import reload
from tests.factories.tickets import ticket_build
from tickets.models import TicketEvent
from tickets.services.deadlines import SWEEP_ACTOR
from tickets.tasks import sweep_deadlines_task

TASK = "tickets.tasks.sweep_deadlines_task"
SPARE_REDIS = "redis://127.0.0.1:6379/5"


def test_beat_schedules_the_sweep_task():
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == TASK]
    assert len(entries) == 1
    assert 0 < float(entries[0]["schedule"]) <= 300  # a due ticket waits minutes at most, not hours
    assert TASK in kefu_app.tasks  # the worker of `make run` knows it
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "tickets.tasks.open_stalled_parcel_tickets_task" in scheduled


def test_the_names_the_tasks_had_in_routing_still_run_them():
    """A message queued under the old names before the deploy is run, not dropped as an unknown task."""
    assert kefu_app.tasks["routing.tasks.sweep_deadlines_task"].run is not None
    assert "routing.tasks.open_stalled_parcel_tickets_task" in kefu_app.tasks


@pytest.fixture
def redis_url() -> str:
    url = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith("redis") else SPARE_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        markers.require(f"needs Redis at {url} ({exc}): start redis-server (CI runs it)")
    return url


@pytest.fixture
def worker(redis_url: str) -> Iterator[Celery]:
    """A Celery worker thread consuming a queue of this test's own, on Redis, with results kept in Redis."""
    queue = f"kefu-test-sweep-{uuid.uuid4().hex[:12]}"
    previous_current, previous_default = celery_state.get_current_app(), celery_state.default_app
    app = Celery("kefu-test-worker", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.update(
        broker_url=redis_url,
        broker_transport_options={},
        result_backend=redis_url,
        result_expires=600,
        task_ignore_result=False,
        task_always_eager=False,
        task_default_queue=queue,
    )
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield app
    finally:
        previous_current.set_current()
        if previous_default is not None:
            previous_default.set_default()
        # The queue and kombu's bindings for it; results expire by themselves.
        redis.Redis.from_url(redis_url).delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sweep_task_runs_in_a_worker_and_acts_on_the_due_ticket(worker):
    with time_machine.travel(timezone.now() - timedelta(hours=49)), transaction.atomic():
        due = ticket_build("return", "requested")  # 48 h to review: a platform timeout, approved by the sweep
    with transaction.atomic():
        fresh = ticket_build("return", "requested")

    result = sweep_deadlines_task.delay()
    outcome = result.get(timeout=30)

    assert result.app is worker
    assert (outcome["transitioned"], outcome["escalated"], outcome["errors"]) == (1, 0, 0)
    assert reload(due).state == "awaiting_return"
    assert reload(fresh).state == "requested"
    event = TicketEvent.objects.get(ticket_id=due.pk, event_type="transition")
    assert (event.actor_kind, event.actor_name, event.transition) == ("system", SWEEP_ACTOR, "approve")
