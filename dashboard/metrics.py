"""Prometheus metrics: django-prometheus's request, response and database figures, plus kefu's own.

kefu's own figures are read from the database when Prometheus scrapes (a collector, not counters kept in
each process), so every gunicorn worker and Celery worker agrees on them and none is lost on a restart:

- ``kefu_tickets{kind,state}``: tickets by kind and state (an index-only scan of ``ticket_kind_state…``);
- ``kefu_tickets_overdue{kind}`` and ``kefu_tickets_due_soon{kind}`` (due within the hour);
- ``kefu_outbox_pending{channel}``, ``kefu_outbox_oldest_due_seconds``: the relay's backlog and its age;
- ``kefu_outbox_retrying{channel}`` (pending after a failed attempt) and ``kefu_outbox_dead{channel}``: delivery
  failures;
- ``kefu_refunds_pending``: refunds not yet confirmed;
- ``kefu_beat_last_run_age_seconds``: seconds since Celery beat last sent a periodic task;
- ``kefu_connector_inbox_pending{platform}`` and ``kefu_connector_inbox_failed{platform}``: pushed messages waiting
  to be processed, and given up on (alert on any: the admin's inbox lists them, "process again" retries them).

The endpoint is off until ``KEFU_METRICS_TOKEN`` is set, and then answers only requests carrying
``Authorization: Bearer <token>`` (Prometheus's ``authorization`` scrape setting). With gunicorn's several
workers set ``PROMETHEUS_MULTIPROC_DIR`` so the request figures of all workers are summed (prometheus_client's
multiprocess mode; docs/operations.md).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from datetime import timedelta

import prometheus_client
from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from connectors.models import InboxMessage
from notifications.models import Notification, Status
from tickets.models import Refund, RefundStatus, Ticket


class KefuCollector(Collector):
    """kefu's figures, read from the database at each scrape (a handful of indexed aggregate queries)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()

        tickets = GaugeMetricFamily("kefu_tickets", "Tickets by kind and state.", labels=["kind", "state"])
        for row in Ticket.objects.order_by().values("kind", "state").annotate(n=Count("id")):
            tickets.add_metric([row["kind"], row["state"]], row["n"])
        yield tickets

        overdue = GaugeMetricFamily("kefu_tickets_overdue", "Open tickets past their deadline.", labels=["kind"])
        soon = GaugeMetricFamily("kefu_tickets_due_soon", "Tickets due within the next hour.", labels=["kind"])
        due = (
            Ticket.objects.filter(due_at__isnull=False, due_at__lt=now + timedelta(hours=1))
            .order_by()
            .values("kind")
            .annotate(overdue=Count("id", filter=Q(due_at__lte=now)), soon=Count("id", filter=Q(due_at__gt=now)))
        )
        for row in due:
            overdue.add_metric([row["kind"]], row["overdue"])
            soon.add_metric([row["kind"]], row["soon"])
        yield overdue
        yield soon

        pending = GaugeMetricFamily("kefu_outbox_pending", "Notifications waiting to be sent.", labels=["channel"])
        retrying = GaugeMetricFamily(
            "kefu_outbox_retrying", "Pending notifications whose last attempt failed.", labels=["channel"]
        )
        for row in (
            Notification.objects.filter(status=Status.PENDING)
            .order_by()
            .values("channel")
            .annotate(n=Count("id"), failed=Count("id", filter=Q(attempts__gt=0)))
        ):
            pending.add_metric([row["channel"]], row["n"])
            retrying.add_metric([row["channel"]], row["failed"])
        yield pending
        yield retrying

        dead = GaugeMetricFamily("kefu_outbox_dead", "Dead-lettered notifications.", labels=["channel"])
        for row in Notification.objects.filter(status=Status.DEAD).order_by().values("channel").annotate(n=Count("id")):
            dead.add_metric([row["channel"]], row["n"])
        yield dead

        oldest = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).aggregate(
            oldest=Min("next_attempt_at")
        )["oldest"]
        yield GaugeMetricFamily(
            "kefu_outbox_oldest_due_seconds",
            "Age of the oldest notification that is due and not yet sent (0 when none).",
            value=0.0 if oldest is None else (now - oldest).total_seconds(),
        )

        yield GaugeMetricFamily(
            "kefu_refunds_pending",
            "Refunds not yet confirmed as paid (requested or submitted).",
            value=Refund.objects.filter(status__in=[RefundStatus.REQUESTED, RefundStatus.SUBMITTED]).count(),
        )

        yield from _inbox_figures()

        from django_celery_beat.models import PeriodicTask

        last = PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
        if last is not None:
            yield GaugeMetricFamily(
                "kefu_beat_last_run_age_seconds",
                "Seconds since Celery beat last sent a periodic task.",
                value=(now - last).total_seconds(),
            )


def _inbox_figures() -> Iterator[GaugeMetricFamily]:
    pending = GaugeMetricFamily(
        "kefu_connector_inbox_pending", "Pushed messages not processed yet.", labels=["platform"]
    )
    for row in (
        InboxMessage.objects.filter(processed_at__isnull=True).order_by().values("platform").annotate(n=Count("id"))
    ):
        pending.add_metric([row["platform"]], row["n"])
    yield pending
    failed = GaugeMetricFamily(
        "kefu_connector_inbox_failed", "Pushed messages given up on (permanent errors).", labels=["platform"]
    )
    for row in InboxMessage.objects.filter(InboxMessage.FAILED).order_by().values("platform").annotate(n=Count("id")):
        failed.add_metric([row["platform"]], row["n"])
    yield failed


KEFU_REGISTRY = prometheus_client.CollectorRegistry(auto_describe=False)
KEFU_REGISTRY.register(KefuCollector())


def _process_registry() -> prometheus_client.CollectorRegistry:
    """django-prometheus's figures: every worker's, summed, in multiprocess mode; else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``/metrics`` in Prometheus's text format; 404 unless KEFU_METRICS_TOKEN is set and presented."""
    token = settings.KEFU_METRICS_TOKEN
    if not token:
        raise Http404
    presented = request.headers.get("Authorization", "")
    if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
        return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    body = prometheus_client.generate_latest(_process_registry()) + prometheus_client.generate_latest(KEFU_REGISTRY)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
