"""``/healthz``: what a load balancer and an engineer on call see when kefu or one of its services is down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from dashboard import health
from notifications.models import Channel, Notification
from tests.factories.desk import open_return
from tests.factories.tickets import user_create
from tests.markers import requires_postgres
from tests.notifications.support import private_redis

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_result() -> Iterator[None]:
    health.forget()
    yield
    health.forget()


def beat_ran(ago: timedelta) -> None:
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=f"sweep {ago}",
        task="tickets.tasks.sweep_deadlines_task",
        interval=every,
        last_run_at=timezone.now() - ago,
    )


def test_all_well_says_ok_and_nothing_more_to_strangers(client) -> None:
    beat_ran(timedelta(seconds=30))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_staff_see_each_check(client) -> None:
    beat_ran(timedelta(seconds=30))
    client.force_login(user_create(is_staff=True))
    assert client.get("/healthz").json() == {"status": "ok"}  # the probe never has more
    body = client.get("/admin/healthz/").json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "beat", "relay"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    assert body["checks"]["beat"]["seconds"] == pytest.approx(30, abs=5)


def test_a_silent_beat_degrades_but_still_serves(client) -> None:
    beat_ran(timedelta(minutes=20))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded"}
    client.force_login(user_create(is_staff=True))
    health.forget()
    beat = client.get("/admin/healthz/").json()["checks"]["beat"]
    assert beat["status"] == "degraded" and beat["seconds"] > 1100


def test_an_old_relay_backlog_degrades(client) -> None:
    beat_ran(timedelta(seconds=10))
    ticket = open_return()
    Notification.objects.filter(ticket=ticket).delete()
    Notification.objects.create(
        ticket=ticket,
        event="ticket_created",
        channel=Channel.WEBHOOK,
        audience="buyer",
        recipient="https://x.example/",
        language="en",
        body="",
        dedup_key="old-one",
        next_attempt_at=timezone.now() - timedelta(minutes=30),
    )
    client.force_login(user_create(is_staff=True))
    body = client.get("/admin/healthz/").json()
    assert body["status"] == "degraded"
    assert body["checks"]["relay"]["status"] == "degraded"
    assert body["checks"]["relay"]["seconds"] >= 1800


def test_strangers_get_no_details_and_logged_out_staff_pages_ask_for_a_login(client) -> None:
    response = client.get("/admin/healthz/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(user_create(is_staff=False))
    assert client.get("/admin/healthz/").status_code == 302


@override_settings(ALLOWED_HOSTS=["kefu.example.com"], SECURE_SSL_REDIRECT=True)
def test_a_load_balancer_probes_by_address_over_plain_http(client) -> None:
    beat_ran(timedelta(seconds=10))
    response = client.get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert client.get("/admin/", HTTP_HOST="10.0.3.7:8000").status_code == 400  # everything else checks the host


def test_the_result_is_kept_for_a_few_seconds(client, django_assert_num_queries) -> None:
    beat_ran(timedelta(seconds=10))
    client.get("/healthz")
    with django_assert_num_queries(0):
        assert client.get("/healthz").json() == {"status": "ok"}


def test_the_cache_down_degrades_and_never_fails_the_probe(client) -> None:
    beat_ran(timedelta(seconds=10))
    client.force_login(user_create(is_staff=True))  # the session is in the database, not the cache
    with private_redis() as redis:
        caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis.url}}
        with override_settings(CACHES=caches):
            health.forget()
            assert client.get("/admin/healthz/").json()["checks"]["cache"]["status"] == "ok"
            redis.stop()
            health.forget()
            response = client.get("/admin/healthz/")
            assert response.status_code == 200
            assert response.json()["status"] == "degraded"
            assert "ConnectionError" in response.json()["checks"]["cache"]["detail"]
            redis.start()
            health.forget()
            assert client.get("/admin/healthz/").json()["checks"]["cache"]["status"] == "ok"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_down_answers_503_with_retry_after(client) -> None:
    beat_ran(timedelta(seconds=10))
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"  # nothing listens there: as if PostgreSQL were stopped
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert response.status_code == 503
    assert response.json() == {"status": "down"}
    assert response["Retry-After"] == "10"
