"""The deadline sweep: acts on every ticket whose clock ran out, exactly once, through the services.

Run by the beat task ``tickets.tasks.sweep_deadlines_task``.

Due tickets are found through the partial index on ``Ticket.due_at`` (``ticket_due_idx``). They are locked
with ``SELECT … FOR UPDATE SKIP LOCKED`` and the due condition repeated: a ticket another sweep holds is
skipped, and one that changed meanwhile (its clock moved) no longer matches, so two sweeps or two workers
never act on a ticket twice. Escalations are made a chunk at a time (``tickets_escalate_due``: one
transaction, the supervisors' rows locked once); every automatic transition in a transaction of its own
(``ticket_process_due``), which reads the ticket once, under its lock.

For a platform timeout the kind's ``on_due`` transition runs as the system (``requested`` 48 h → approve,
``awaiting_return`` 7 d → expire, ``return_in_transit`` 10 d → auto_refund, …), unless a guard of
``tickets.automation`` refuses it (a flagged buyer): then the ticket is escalated, the refusal as the reason.
For an internal SLA, or when the automatic transition is refused, the ticket is escalated: priority up,
breached, routed to supervisors, re-checked after ``ESCALATION_RECHECK`` of the supervisors' business time (their
calendar, routing.calendars) up to ``MAX_ESCALATIONS`` times.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from kefu.core.errors import DomainError
from kefu.core.prepared import PreparedQuery
from routing.calendars import business_deadline
from routing.services import AssigneePicker, assignee_pick
from tickets.actors import Actor
from tickets.automation import automation_refusal
from tickets.models import EventType, Priority, Ticket
from tickets.selectors import ticket_workload
from tickets.services.acting import ticket_act
from tickets.services.engine import assignment_record, event_record
from tickets.wording import system_reason
from tickets.workflows import model_for_kind
from tickets.workflows.steps import ESCALATE

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "deadline sweep"
ESCALATION_RECHECK = timedelta(hours=24)
MAX_ESCALATIONS = 3
ESCALATION_DEPARTMENT = "supervisors"
FAILURE_RETRY = timedelta(hours=1)
# Escalations acted on in one transaction (their rows locked together, supervisors' rows once): commits and
# the choice of supervisor shared by this many tickets. Automatic transitions each take a transaction of their own.
ESCALATION_CHUNK = 100


@dataclass
class SweepResult:
    transitioned: int = 0
    escalated: int = 0
    warned: int = 0
    postponed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def acted(self) -> int:
        return self.transitioned + self.escalated


def due_ticket_ids(*, now: datetime, limit: int) -> list[tuple[int, str]]:
    """(id, kind) of tickets due at ``now``, most overdue first: an index range scan on ``ticket_due_idx``."""
    return list(Ticket.objects.filter(due_at__lte=now).order_by("due_at").values_list("pk", "kind")[:limit])


def ticket_escalate(
    *,
    ticket: Ticket,
    actor: Actor,
    reason: str,
    reason_payload: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    assignees: AssigneePicker | None = None,
) -> Ticket:
    """Escalate a locked ticket: breached, priority one level up, routed to supervisors, re-checked later.

    The caller holds the ticket's row lock. The step's own figures (``step_due_at``, ``step_department``)
    stay, so SLA reports count the step as breached for the department that owned it. ``assignees``: the
    supervisors picker of a chunk of escalations in one transaction (else one ``assignee_pick``).
    ``reason_payload``: the reason's code and parameters (tickets.wording.system_reason), stored on the entry.
    """
    now = now or timezone.now()
    previous_department = ticket.department
    previous_assignee = ticket.assignee
    ticket.escalation_level += 1
    ticket.sla_breached = True
    ticket.priority = min(Priority.URGENT, ticket.priority + 10)
    if ticket.department != ESCALATION_DEPARTMENT:
        ticket.department = ESCALATION_DEPARTMENT
        if assignees is not None:
            ticket.assignee = assignees.pick()
        else:
            ticket.assignee = assignee_pick(ESCALATION_DEPARTMENT, workload=ticket_workload)
    # An internal clock: the supervisors' business time (routing.calendars; around the clock without a calendar).
    recheck = business_deadline(ESCALATION_DEPARTMENT, now, ESCALATION_RECHECK)
    ticket.due_at = recheck if ticket.escalation_level < MAX_ESCALATIONS else None
    ticket.warn_at = None
    ticket.version += 1
    ticket.updated_at = now
    ticket.save(
        update_fields=[
            "escalation_level",
            "sla_breached",
            "priority",
            "department",
            "assignee",
            "due_at",
            "warn_at",
            "version",
            "updated_at",
        ]
    )
    event_record(
        ticket=ticket,
        actor=actor,
        event_type=EventType.ESCALATION,
        reason=reason,
        public=False,
        payload={
            **(reason_payload or {}),
            "level": ticket.escalation_level,
            "priority": ticket.priority,
            "previous_department": previous_department,
            "department": ticket.department,
            "step_due_at": ticket.step_due_at,
            "next_check_at": ticket.due_at,
        },
        at=now,
    )
    if ticket.assignee != previous_assignee:  # every assignment is on the timeline, as in ticket_transition
        assignment_record(ticket=ticket, previous=previous_assignee, at=now)
    return ticket


def _replacement_delivered_long_enough(ticket: Ticket, now: datetime) -> datetime | None:
    """An exchange completes by itself 10 days after the replacement was *delivered* (SPEC), not shipped.

    Returns when to look again if that time has not come (not delivered yet: tomorrow), else None.
    """
    shipment = getattr(ticket, "replacement_shipment", None)
    wait = ticket.STEPS[ticket.state].deadline or timedelta(days=10)
    if shipment is None or shipment.delivered_at is None:
        return now + timedelta(days=1)
    if now < shipment.delivered_at + wait:
        return shipment.delivered_at + wait
    return None


# Extra conditions on automatic transitions: (kind, state) → "when to look again", or None to go ahead.
DUE_CHECKS = {("exchange", "replacement_shipped"): _replacement_delivered_long_enough}


def _locked_due(model: type[Ticket], pks: Sequence[int], now: datetime, *only: Q) -> list[Ticket]:
    """The tickets of ``pks`` still due at ``now`` that no other transaction holds, locked (``SKIP LOCKED``), with
    what acting on them reads joined in (shop and buyer for the notifications, the assignee for the timeline).

    The due condition is repeated under the lock: a ticket another sweep acted on meanwhile has another
    ``due_at`` and is left out. Only the ticket's own rows are locked (``of``), never its shop, buyer or user.
    """
    of = ("self", *(link.name for link in model._meta.parents.values()))
    return list(
        model.objects.select_for_update(skip_locked=True, of=of)
        .select_related("shop", "buyer", "assignee")
        .filter(*only, pk__in=pks, due_at__lte=now)
        .order_by("pk")
    )


@functools.cache
def _locked_due_one(model: type[Ticket]) -> PreparedQuery[Ticket]:
    """``_locked_due`` for one ticket, the statement every due transition starts with: composed once per kind
    (kefu.core.prepared; composing it with its three joins cost about 2 ms of the sweep's 3 ms per ticket)."""
    of = ("self", *(link.name for link in model._meta.parents.values()))
    return PreparedQuery(
        lambda pk, now: (
            model.objects.select_for_update(skip_locked=True, of=of)
            .select_related("shop", "buyer", "assignee")
            .filter(pk=pk, due_at__lte=now)
        ),
        pk=-7_301_201,
        now=datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC),
    )


def _locked_due_ticket(model: type[Ticket], pk: int, now: datetime) -> list[Ticket]:
    """``_locked_due`` for one ticket: composed once on PostgreSQL (elsewhere the backend adapts the time to text,
    which a stand-in cannot mark, and there are no row locks to take anyway)."""
    if connection.vendor == "postgresql":
        return _locked_due_one(model).instances(pk=pk, now=now)
    return _locked_due(model, [pk], now)


def _overdue(ticket: Ticket, now: datetime) -> dict[str, Any]:
    """The parameters of the sweep's reasons naming the step that was due and when (tickets.wording)."""
    return {"kind": ticket.kind, "state": ticket.state, "due": ticket.step_due_at or now}


def _breached(ticket: Ticket, now: datetime) -> dict[str, Any]:
    reason, payload = system_reason("sla_breached", **_overdue(ticket, now))
    return {"reason": reason, "reason_payload": payload}


def _transition_on_due(ticket: Ticket) -> str | None:
    """The automatic transition the ticket's clock runs (a platform timeout not yet escalated), else None."""
    if ticket.platform:
        # A marketplace's case: the platform runs its own timeouts (auto-agree, auto-refund) and kefu records them
        # when they arrive (connectors); kefu's clock for it is an internal SLA, so it escalates.
        return None
    on_due = ticket.STEPS[ticket.state].on_due
    return on_due if on_due and on_due != ESCALATE and ticket.escalation_level == 0 else None


def ticket_process_due(*, ticket_id: int, kind: str, now: datetime) -> str:
    """Act on one due ticket if it is still due and nobody else holds it. Returns what happened.

    One transaction: lock and read, transition (``held``: the row is not read again), commit. A refused
    automatic transition rolls that transaction back (nothing of it is written) and the ticket is escalated in
    a second one, if it is still due and free then.
    """
    model = model_for_kind(kind)
    actor = Actor.system(SWEEP_ACTOR)
    with transaction.atomic():
        found = _locked_due_ticket(model, ticket_id, now)
        if not found:
            return "skipped"
        ticket = found[0]
        check = DUE_CHECKS.get((ticket.kind, ticket.state))
        later = check(ticket, now) if check is not None else None
        if later is not None:
            type(ticket).objects.filter(pk=ticket.pk).update(due_at=later)
            return "postponed"
        on_due = _transition_on_due(ticket)
        if on_due is None:
            ticket_escalate(ticket=ticket, actor=actor, now=now, **_breached(ticket, now))
            return "escalated"
        refusal = automation_refusal(ticket=ticket, action=on_due)
        if refusal is not None:  # a guard (tickets.automation) keeps the system's hands off: people decide
            ticket_escalate(ticket=ticket, actor=actor, now=now, reason=refusal.reason, reason_payload=refusal.payload)
            return "escalated"
        reason, payload = system_reason("deadline_acted", action=on_due, **_overdue(ticket, now))
        try:
            ticket_act(
                ticket=ticket,
                actor=actor,
                action=on_due,
                reason=reason,
                reason_payload=payload,
                check_version=False,
                held=True,
            )
            return "transitioned"
        except DomainError as exc:
            refused = exc
            transaction.set_rollback(True)  # the transition's writes, if any, go; the row lock with them
    logger.warning("sweep: %s %s refused for %s: %s", on_due, ticket.number, kind, refused)
    with transaction.atomic():
        found = _locked_due_ticket(model, ticket_id, now)
        if not found:
            return "skipped"
        ticket = found[0]
        reason, payload = system_reason(
            "deadline_refused", action=on_due, error=str(refused.message), **_overdue(ticket, now)
        )
        ticket_escalate(ticket=ticket, actor=actor, now=now, reason=reason, reason_payload=payload)
        return "escalated"


def tickets_escalate_due(*, kind: str, ticket_ids: Sequence[int], now: datetime) -> list[int]:
    """Escalate, in one transaction, those of ``ticket_ids`` (of one kind) whose clock is an internal SLA or
    that were escalated before; returns their ids. The others (automatic transitions, postponements, tickets
    another sweep holds) are left to ``ticket_process_due``.

    Locks: the tickets first (``SKIP LOCKED``, so no wait), then the supervisors' rows once for all of them
    (routing.services.AssigneePicker): the engine's order. Any error rolls the whole chunk back and returns
    no id: the caller then takes the tickets one by one.
    """
    model = model_for_kind(kind)
    escalating = [state for state, step in model.STEPS.items() if step.on_due == ESCALATE]
    checked = [state for (of_kind, state) in DUE_CHECKS if of_kind == kind]
    actor = Actor.system(SWEEP_ACTOR)
    try:
        with transaction.atomic():
            tickets = _locked_due(
                model, ticket_ids, now, (Q(escalation_level__gt=0) | Q(state__in=escalating)) & ~Q(state__in=checked)
            )
            picker = AssigneePicker(ESCALATION_DEPARTMENT, workload=ticket_workload)
            for ticket in tickets:
                ticket_escalate(ticket=ticket, actor=actor, now=now, assignees=picker, **_breached(ticket, now))
            picker.close()
    except Exception:  # one broken ticket must not stop the others: they are taken one by one
        logger.exception("sweep: escalating %s %s tickets together failed; one by one instead", len(ticket_ids), kind)
        return []
    return [ticket.pk for ticket in tickets]


def sweep_warnings(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Note "deadline approaching" on tickets past their warning time (default 80 %); once per step."""
    now = now or timezone.now()
    ids = list(Ticket.objects.filter(warn_at__lte=now).order_by("warn_at").values_list("pk", flat=True)[:limit])
    warned = 0
    for pk in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update(skip_locked=True).filter(pk=pk, warn_at__lte=now).first()
            if ticket is None:
                continue
            Ticket.objects.filter(pk=pk).update(warn_at=None)
            reason, payload = system_reason("deadline_approaching")
            event_record(
                ticket=ticket,
                actor=Actor.system(SWEEP_ACTOR),
                event_type=EventType.WARNING,
                public=False,
                reason=reason,
                payload={**payload, "due_at": ticket.due_at, "department": ticket.department},
                at=now,
            )
            warned += 1
    return warned


def sweep_due(*, now: datetime | None = None, batch: int = 500, max_batches: int = 20) -> SweepResult:
    """Act on due tickets, in batches, until none is left or ``max_batches`` ran (the next beat goes on)."""
    now = now or timezone.now()
    result = SweepResult()
    result.warned = sweep_warnings(now=now)
    for _ in range(max_batches):
        ids = due_ticket_ids(now=now, limit=batch)
        if not ids:
            break
        acted_in_batch = 0
        by_kind: dict[str, list[int]] = {}
        for ticket_id, kind in ids:
            by_kind.setdefault(kind, []).append(ticket_id)
        escalated: set[int] = set()
        for kind, pks in by_kind.items():
            for start in range(0, len(pks), ESCALATION_CHUNK):
                escalated.update(
                    tickets_escalate_due(kind=kind, ticket_ids=pks[start : start + ESCALATION_CHUNK], now=now)
                )
        result.escalated += len(escalated)
        acted_in_batch += len(escalated)
        for ticket_id, kind in ids:
            if ticket_id in escalated:
                continue
            try:
                outcome = ticket_process_due(ticket_id=ticket_id, kind=kind, now=now)
            except Exception as exc:  # one broken ticket must not stop the sweep for the others
                logger.exception("sweep: ticket %s failed; looked at again in %s", ticket_id, FAILURE_RETRY)
                result.errors.append(f"{ticket_id}: {exc}")
                # Move it out of the way, or a block of failing tickets would hold up every later one.
                Ticket.objects.filter(pk=ticket_id, due_at__lte=now).update(due_at=now + FAILURE_RETRY)
                acted_in_batch += 1  # moved aside: the next batch holds other tickets
                continue
            if outcome == "postponed":
                result.postponed += 1
            elif outcome == "transitioned":
                result.transitioned += 1
            elif outcome == "escalated":
                result.escalated += 1
            else:
                result.skipped += 1
            acted_in_batch += outcome not in ("skipped",)
        if acted_in_batch == 0:
            break  # everything left is held by another sweep
    return result
