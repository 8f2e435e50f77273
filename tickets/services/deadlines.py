"""The deadline sweep: acts on every ticket whose clock ran out, exactly once, through the services.

Run by the beat task ``tickets.tasks.sweep_deadlines_task``.

Due tickets are found through the partial index on ``Ticket.due_at`` (``ticket_due_idx``). Each is
processed in its own transaction after ``SELECT … FOR UPDATE SKIP LOCKED`` with the due condition repeated:
a ticket another sweep holds is skipped, and one that changed meanwhile (its clock moved) no longer
matches, so two sweeps or two workers never act on a ticket twice.

For a platform timeout the kind's ``on_due`` transition runs as the system (``requested`` 48 h → approve,
``awaiting_return`` 7 d → expire, ``return_in_transit`` 10 d → auto_refund, …). For an internal SLA, or
when the automatic transition is refused, the ticket is escalated: priority up, breached, routed to
supervisors, re-checked after ``ESCALATION_RECHECK`` up to ``MAX_ESCALATIONS`` times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kefu.core.errors import DomainError
from routing.services import assignee_pick
from tickets.actors import Actor
from tickets.models import EventType, Priority, Ticket
from tickets.selectors import ticket_workload
from tickets.services.engine import assignment_record, event_record, ticket_transition
from tickets.workflows import model_for_kind
from tickets.workflows.steps import ESCALATE

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "deadline sweep"
ESCALATION_RECHECK = timedelta(hours=24)
MAX_ESCALATIONS = 3
ESCALATION_DEPARTMENT = "supervisors"
FAILURE_RETRY = timedelta(hours=1)


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


def ticket_escalate(*, ticket: Ticket, actor: Actor, reason: str, now: datetime | None = None) -> Ticket:
    """Escalate a locked ticket: breached, priority one level up, routed to supervisors, re-checked later.

    The caller holds the ticket's row lock. The step's own figures (``step_due_at``, ``step_department``)
    stay, so SLA reports count the step as breached for the department that owned it.
    """
    now = now or timezone.now()
    previous_department = ticket.department
    previous_assignee = ticket.assignee
    ticket.escalation_level += 1
    ticket.sla_breached = True
    ticket.priority = min(Priority.URGENT, ticket.priority + 10)
    if ticket.department != ESCALATION_DEPARTMENT:
        ticket.department = ESCALATION_DEPARTMENT
        ticket.assignee = assignee_pick(ESCALATION_DEPARTMENT, workload=ticket_workload)
    ticket.due_at = now + ESCALATION_RECHECK if ticket.escalation_level < MAX_ESCALATIONS else None
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


def ticket_process_due(*, ticket_id: int, kind: str, now: datetime) -> str:
    """Act on one due ticket if it is still due and nobody else holds it. Returns what happened."""
    model = model_for_kind(kind)
    actor = Actor.system(SWEEP_ACTOR)
    with transaction.atomic():
        ticket = model.objects.select_for_update(skip_locked=True).filter(pk=ticket_id, due_at__lte=now).first()
        if ticket is None:
            return "skipped"
        step = ticket.STEPS[ticket.state]
        check = DUE_CHECKS.get((ticket.kind, ticket.state))
        later = check(ticket, now) if check is not None else None
        if later is not None:
            type(ticket).objects.filter(pk=ticket.pk).update(due_at=later)
            return "postponed"
        overdue = f"{ticket.state_label()} was due at {timezone.localtime(ticket.step_due_at or now):%Y-%m-%d %H:%M}"
        if step.on_due and step.on_due != ESCALATE and ticket.escalation_level == 0:
            try:
                with transaction.atomic():
                    ticket_transition(
                        ticket=ticket,
                        actor=actor,
                        transition=step.on_due,
                        reason=f"Deadline passed ({overdue}): {step.on_due} automatically.",
                        check_version=False,
                    )
                return "transitioned"
            except DomainError as exc:
                logger.warning("sweep: %s %s refused for %s: %s", step.on_due, ticket.number, kind, exc)
                ticket_escalate(
                    ticket=ticket,
                    actor=actor,
                    now=now,
                    reason=f"Deadline passed ({overdue}) but '{step.on_due}' was refused: {exc.message}",
                )
                return "escalated"
        ticket_escalate(ticket=ticket, actor=actor, reason=f"SLA breached: {overdue}.", now=now)
        return "escalated"


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
            event_record(
                ticket=ticket,
                actor=Actor.system(SWEEP_ACTOR),
                event_type=EventType.WARNING,
                public=False,
                reason="Deadline approaching.",
                payload={"due_at": ticket.due_at, "department": ticket.department},
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
        for ticket_id, kind in ids:
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
