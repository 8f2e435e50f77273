"""Idempotency-Key records are deleted by a beat task once their window has passed, in batches, and only then."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.idempotency import idempotency_records_purge
from api.models import IdempotencyRecord, IdempotencyState
from api.tasks import purge_idempotency_records_task
from kefu.celery import app as kefu_app

pytestmark = pytest.mark.django_db

TASK = "api.tasks.purge_idempotency_records_task"


def records(count: int, *, expires_in: timedelta, prefix: str, state: str = IdempotencyState.COMPLETED) -> None:
    now = timezone.now()
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(
            client="key:1",
            key=f"{prefix}-{n}",
            fingerprint="f" * 64,
            state=state,
            response_status=201,
            response_body="{}",
            created_at=now + expires_in - timedelta(hours=settings.KEFU_IDEMPOTENCY_TTL_HOURS),
            expires_at=now + expires_in,
        )
        for n in range(count)
    )


def test_beat_runs_the_purge_regularly():
    entries = [entry for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] == TASK]
    assert len(entries) == 1
    assert 0 < float(entries[0]["schedule"]) <= 24 * 3600
    assert TASK in kefu_app.tasks  # the worker of `make run` knows it


def test_only_expired_records_are_deleted_in_batches():
    records(25, expires_in=-timedelta(minutes=1), prefix="old")
    records(3, expires_in=-timedelta(days=3), prefix="older", state=IdempotencyState.IN_PROGRESS)
    records(7, expires_in=timedelta(minutes=1), prefix="fresh")

    with CaptureQueriesContext(connection) as queries:
        deleted = idempotency_records_purge(batch_size=10)

    assert deleted == 28
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == sorted(f"fresh-{n}" for n in range(7))
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 3  # 28 rows, at most 10 per statement


def test_the_task_reports_what_it_deleted_and_a_second_run_finds_nothing():
    records(4, expires_in=-timedelta(seconds=1), prefix="old")
    records(2, expires_in=timedelta(hours=1), prefix="fresh")

    assert purge_idempotency_records_task() == 4
    assert purge_idempotency_records_task() == 0
    assert IdempotencyRecord.objects.count() == 2
