"""Telling the affected buyers of an incident, at a controlled rate, through the notifications outbox.

The rate (never more than ``incident.messages_per_minute`` buyers told per minute, however many workers run) is a
sliding window kept in the database and serialised by the incident's row lock:

- a run (``incident_tell_batch``) locks the incident's row (``SELECT … FOR UPDATE``), counts the buyers told in
  the last window (``told_at`` / ``closing_told_at`` within ``KEFU_INCIDENT_TELL_WINDOW_SECONDS``: a minute), and
  tells at most what is left of the minute's allowance, and at most the tick's share of it (a minute's allowance
  spread over ticks of ``KEFU_INCIDENT_TELL_TICK_SECONDS``), in one transaction: the outbox rows and ``told_at``
  commit together, so a buyer is told once even when a worker dies mid-batch (the batch rolls back) or two runs
  race (the second waits on the lock, then finds them told);
- the task (``incident_tell_task``, defined below) runs a batch and publishes itself again one tick later while
  buyers are left; ``incident_tell_schedule`` starts it after a commit; beat's ``incident_tell_sweep_task``
  restarts an incident whose chain was lost (no run for three ticks: a cache mark).

Chosen over a token bucket in Redis because the window is the telling's own record (``told_at``): it needs no
second store that could disagree with the database, survives a Redis flush and a worker restart, and counts
exactly what the progress page shows. The cost is one indexed count per run (``incident_told_idx``).

One message per affected order (each has its ticket and its own answer link) and per channel the shop reaches its
buyers through (notifications.services.buyer_recipients), in the shop's buyer language: the rate therefore also
bounds each provider (SMS, email, the storefront webhook) to ``messages_per_minute`` a minute for the incident.
A closed incident's run sends the closing message instead, after closing each ticket (incidents.closing).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation

from incidents.models import Incident, IncidentOffer, IncidentStatus, IncidentTicket
from incidents.paths import offers_open
from incidents.reasons import offer_label, text_in
from incidents.ticket_closing import affected_close, closing_actor
from incidents.tokens import answer_url
from notifications.config import notification_config
from notifications.messages import buyer_recipients, ticket_message_enqueue
from notifications.models import Event
from notifications.publishing import publish, publish_on_commit
from tickets.models import Ticket

__all__ = ["incident_tell_batch", "incident_tell_run", "incident_tell_schedule", "incident_tell_sweep"]

logger = logging.getLogger(__name__)

# The most buyers one transaction tells, whatever the rate (a short transaction under the incident's lock).
BATCH_MAX = 200


@dataclass(frozen=True)
class TellRun:
    told: int  # buyers told (or sent the closing) by this run
    left: int  # still to tell after it


def window() -> timedelta:
    return timedelta(seconds=settings.KEFU_INCIDENT_TELL_WINDOW_SECONDS)


def tick_seconds() -> float:
    return float(settings.KEFU_INCIDENT_TELL_TICK_SECONDS)


def offers_text(incident: Incident, offers: list[str]) -> str:
    """The offers as the buyer reads them, in the active language: "Wait, with compensation (¥5.00) / Refund"."""
    shown = []
    for offer in offers:
        label = offer_label(offer)
        if offer == IncidentOffer.WAIT and incident.compensation_amount:
            label = f"{label} (¥{incident.compensation_amount})"
        elif offer == IncidentOffer.EXCHANGE and incident.alternative_sku:
            label = f"{label} ({incident.alternative_sku})"
        shown.append(label)
    return " / ".join(shown)


def buyer_language(ticket: Ticket) -> str:
    prefs = notification_config.get().shop_channels.get(ticket.shop_id)
    return prefs.language if prefs is not None else settings.LANGUAGE_CODE


def _quota(incident: Incident, now: datetime) -> int:
    """How many buyers this run may tell: what is left of the window's allowance, at most the tick's share."""
    allowance = incident.messages_per_minute
    if allowance <= 0:
        return 0
    since = now - window()
    recent = (
        IncidentTicket.objects.filter(incident_id=incident.pk)
        .filter(Q(told_at__gt=since) | Q(closing_told_at__gt=since))
        .count()
    )
    per_tick = max(1, math.ceil(allowance * tick_seconds() / window().total_seconds()))
    return max(0, min(allowance - recent, per_tick, BATCH_MAX))


def _date(incident: Incident) -> str:
    return f"{incident.expected_delivery_date:%Y-%m-%d}" if incident.expected_delivery_date else ""


def _notice(incident: Incident, affected: IncidentTicket, ticket: Ticket, at: datetime) -> None:
    recipients = buyer_recipients(ticket)
    language = recipients[0].language if recipients else buyer_language(ticket)
    offers = offers_open(list(incident.offers or []), ticket.kind, ticket.state)
    with translation.override(language):
        extra = {
            "incident_message": text_in(incident.message, language),
            "expected_delivery": _date(incident),
            "offers": offers_text(incident, offers),
            "answer_url": answer_url(affected.pk) if offers else "",
        }
    ticket_message_enqueue(
        ticket=ticket,
        message_event=Event.INCIDENT_NOTICE,
        recipients=recipients,
        scope=f"incident:{incident.pk}:notice:{affected.pk}",
        at=at,
        extra=extra,
    )


def _closing(incident: Incident, affected: IncidentTicket, ticket: Ticket, at: datetime) -> None:
    recipients = buyer_recipients(ticket)
    language = recipients[0].language if recipients else buyer_language(ticket)
    ticket_message_enqueue(
        ticket=ticket,
        message_event=Event.INCIDENT_CLOSED,
        recipients=recipients,
        scope=f"incident:{incident.pk}:closed:{affected.pk}",
        at=at,
        extra={"closing_message": text_in(incident.closing_message, language)},
    )


def incident_tell_batch(*, incident_id: int, now: datetime | None = None) -> TellRun:
    """Tell the next buyers of the incident, as many as its rate allows now (see the module docstring).

    A running incident sends its notice to the buyers not told yet (``told_at`` null); a closed one closes each
    ticket left (incidents.closing.affected_close) and sends the closing message (``closing_told_at`` null). A
    draft tells nobody. Locks, in this order: the incident, the batch's ``IncidentTicket`` rows (by id), each
    ticket (as a buyer's answer does: its row, then the ticket). Returns what was told and what is left.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update(of=("self",)).filter(pk=incident_id).first()  # incident_lock
        if incident is None or incident.status == IncidentStatus.DRAFT:
            return TellRun(0, 0)
        # The time is read under the lock: a run that waited for another one stamps its buyers after it.
        now = now or timezone.now()
        closing = incident.status == IncidentStatus.CLOSED
        todo = IncidentTicket.objects.filter(incident_id=incident.pk)
        todo = todo.filter(closing_told_at__isnull=True) if closing else todo.filter(told_at__isnull=True)
        quota = _quota(incident, now)
        batch = list(todo.select_for_update().order_by("pk")[:quota]) if quota else []
        if batch:
            tickets = Ticket.objects.select_related("order", "shop", "buyer").in_bulk([a.ticket_id for a in batch])
            actor = closing_actor(incident) if closing else None
            for affected in batch:
                ticket = tickets[affected.ticket_id]
                if actor is not None:  # closing
                    ticket = affected_close(incident=incident, affected=affected, actor=actor)
                    _closing(incident, affected, ticket, now)
                else:
                    _notice(incident, affected, ticket, now)
            stamp = {"closing_told_at": now} if closing else {"told_at": now}
            IncidentTicket.objects.filter(pk__in=[a.pk for a in batch]).update(**stamp)
        left = todo.count()
    return TellRun(len(batch), left)


def incident_tell_run(*, incident_id: int) -> TellRun:
    """One run of the telling task: a batch, then the next run one tick later while buyers are left.

    Without a broker (``task_always_eager``: the demo, some tests) there is no later: batches follow each other
    at once until the window's allowance is used up; the rest waits for the next schedule or the beat sweep.
    """
    chain_mark(incident_id)
    run = incident_tell_batch(incident_id=incident_id)
    if incident_tell_task.app.conf.task_always_eager:
        while run.told and run.left:
            run = incident_tell_batch(incident_id=incident_id)
        return run
    if run.left:
        publish(incident_tell_task, [incident_id], countdown=tick_seconds())
    return run


def incident_tell_sweep() -> int:
    """Restart the telling of every running or closed incident with buyers left to tell and no telling under way
    (no run for three ticks). Returns how many were restarted."""
    pending = (
        IncidentTicket.objects.filter(
            Q(incident__status=IncidentStatus.RUNNING, told_at__isnull=True)
            | Q(incident__status=IncidentStatus.CLOSED, closing_told_at__isnull=True)
        )
        .values_list("incident_id", flat=True)
        .distinct()
    )
    restarted = 0
    for incident in Incident.objects.filter(pk__in=list(pending)):
        if not chain_alive(incident.pk):
            with transaction.atomic():
                incident_tell_schedule(incident)
            restarted += 1
    return restarted


# The tasks (registered under incidents.tasks' names, where beat and the workers know them). They take ids and
# are idempotent.


@shared_task(name="incidents.tasks.incident_tell_task", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def incident_tell_task(incident_ids: list[int]) -> dict[str, int]:
    """Tell the next batch of each incident's buyers (``incident_tell_run``), which schedules the next run one tick
    later while some are left. Returns how many were told and are left."""
    told = left = 0
    for incident_id in incident_ids:
        run = incident_tell_run(incident_id=incident_id)
        told += run.told
        left += run.left
    return {"told": told, "left": left}


@shared_task(name="incidents.tasks.incident_tell_sweep_task", acks_late=True, ignore_result=True)
def incident_tell_sweep_task() -> dict[str, int]:
    """Beat: restart the telling of incidents with buyers still to tell and no telling under way (a lost message,
    a broker outage, a killed worker)."""
    return {"restarted": incident_tell_sweep()}


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
