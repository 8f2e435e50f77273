"""``/healthz``: is this web process able to serve, and is the machinery behind it keeping up?

Cheap and unauthenticated, for a load balancer or an uptime probe (``HealthProbeMiddleware``); the details
(each check, its figure and why it failed) only to logged-in staff at ``/admin/healthz/``, because they tell an
attacker which dependency is down.

- ``database``: ``SELECT 1``. The one dependency a request truly needs: when it fails the answer is 503.
- ``cache``: a write and a read of one key. kefu only *helps* itself with the cache (throttles, the API key
  cache, the configuration cache fail open), so a failure degrades, it does not fail.
- ``broker``: a connection to Celery's broker. Without it new work is queued late (the periodic relays pick
  it up once it is back), so it degrades.
- ``beat``: seconds since Celery beat last sent a periodic task (django-celery-beat's ``last_run_at``, which
  beat writes back every few minutes). Older than ``KEFU_HEALTH_BEAT_MAX_AGE_SECONDS``: nothing sweeps
  deadlines or relays the outbox.
- ``relay``: the age of the oldest notification that is due and still pending. Older than
  ``KEFU_HEALTH_RELAY_MAX_AGE_SECONDS``: workers are down or cannot keep up.

The result is kept for ``KEFU_HEALTH_CACHE_SECONDS`` in the process (not in the cache, which may be the thing
that is down), so a probe every second costs a handful of queries every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Max, Min
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from notifications.models import Notification, Status

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN = "ok", "degraded", "down"


@dataclass
class Check:
    name: str
    status: str
    detail: str = ""
    seconds: float | None = None  # an age, where the check measures one

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.detail:
            out["detail"] = self.detail
        if self.seconds is not None:
            out["seconds"] = round(self.seconds, 1)
        return out


@dataclass
class Health:
    checks: list[Check] = field(default_factory=list)
    checked_at: datetime = field(default_factory=timezone.now)

    @property
    def status(self) -> str:
        statuses = {check.status for check in self.checks}
        return DOWN if DOWN in statuses else DEGRADED if DEGRADED in statuses else OK


def _failed(name: str, exc: BaseException, status: str) -> Check:
    logger.warning("healthz: %s check failed: %s: %s", name, type(exc).__name__, exc)
    return Check(name, status, f"{type(exc).__name__}: {str(exc)[:200]}")


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", exc, DOWN)
    return Check("database", OK)


def check_cache() -> Check:
    try:
        stamp = str(time.time())
        cache.set("kefu:healthz", stamp, timeout=30)
        if cache.get("kefu:healthz") != stamp:
            return Check("cache", DEGRADED, "the value written was not read back")
    except Exception as exc:
        return _failed("cache", exc, DEGRADED)
    return Check("cache", OK)


def check_broker() -> Check:
    try:
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    except Exception as exc:
        return _failed("broker", exc, DEGRADED)
    return Check("broker", OK)


def check_beat(now: datetime) -> Check:
    from django_celery_beat.models import PeriodicTask

    try:
        last = PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
    except Exception as exc:
        return _failed("beat", exc, DEGRADED)
    if last is None:
        return Check("beat", DEGRADED, "beat has not run a periodic task yet")
    age = (now - last).total_seconds()
    if age > settings.KEFU_HEALTH_BEAT_MAX_AGE_SECONDS:
        return Check("beat", DEGRADED, "no periodic task sent recently", age)
    return Check("beat", OK, seconds=age)


def check_relay(now: datetime) -> Check:
    try:
        oldest = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).aggregate(
            oldest=Min("next_attempt_at")
        )["oldest"]
    except Exception as exc:
        return _failed("relay", exc, DEGRADED)
    age = 0.0 if oldest is None else (now - oldest).total_seconds()
    if age > settings.KEFU_HEALTH_RELAY_MAX_AGE_SECONDS:
        return Check("relay", DEGRADED, "due notifications are waiting", age)
    return Check("relay", OK, seconds=age)


def run_checks() -> Health:
    now = timezone.now()
    database = check_database()
    checks = [database, check_cache(), check_broker()]
    if database.status == OK:  # the last two read the database
        checks += [check_beat(now), check_relay(now)]
    return Health(checks=checks, checked_at=now)


_lock = threading.Lock()
_last: tuple[float, Health] | None = None


def current_health() -> Health:
    """The checks' result, at most KEFU_HEALTH_CACHE_SECONDS old (one run at a time per process)."""
    global _last
    with _lock:
        if _last is not None and time.monotonic() - _last[0] < settings.KEFU_HEALTH_CACHE_SECONDS:
            return _last[1]
        health = run_checks()
        _last = (time.monotonic(), health)
        return health


def forget() -> None:
    """Drop the kept result (tests, and after a deploy check)."""
    global _last
    with _lock:
        _last = None


def _answer(health: Health, *, details: bool) -> JsonResponse:
    body: dict[str, Any] = {"status": health.status}
    if details:
        body["checked_at"] = health.checked_at.isoformat()
        body["checks"] = {check.name: check.as_dict() for check in health.checks}
    response = JsonResponse(body, status=503 if health.status == DOWN else 200)
    response["Cache-Control"] = "no-store"
    if health.status == DOWN:
        response["Retry-After"] = "10"
    return response


class HealthProbeMiddleware:
    """Answers ``GET /healthz`` first, before host validation, the HTTPS redirect, sessions and the database
    work of the other middleware: a load balancer probes by address, over plain HTTP, without cookies.

    200 ``{"status": "ok"|"degraded"}`` while the database answers, else 503 ``{"status": "down"}``. Nothing
    more: the details are at ``/admin/healthz/``, for staff.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return _answer(current_health(), details=False)
        return self.get_response(request)


def health_details_view(request: HttpRequest) -> JsonResponse:
    """``/admin/healthz/`` (staff, through the admin's login): each check, its figure and why it failed."""
    return _answer(current_health(), details=True)
