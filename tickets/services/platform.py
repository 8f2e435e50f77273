"""What a marketplace does to a ticket besides transitions: its deadline for the merchant, and a refund it paid.

Called by ``connectors.services.ingest`` with a platform actor (``Actor.platform(name)``); transitions the
platform runs go through ``ticket_act`` like any other, permitted by ``Role.PLATFORM`` on their declarations.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from routing.services import step_route
from tickets.actors import Actor
from tickets.clock import step_clock
from tickets.locks import ticket_lock
from tickets.models import EventType, Priority, Refund, RefundStatus, Ticket
from tickets.payments import PayoutAnswer, PayoutStatus
from tickets.selectors import ticket_workload
from tickets.services.acting import ticket_act
from tickets.services.engine import event_record, platform_clock_apply, route_facts
from tickets.services.refunds import refund_settle
from tickets.workflows.steps import BUYER


def ticket_platform_deadline_set(*, ticket: Ticket, due_at: datetime | None, actor: Actor) -> Ticket:
    """Store the platform's deadline for the merchant's answer and move the step's clock before it.

    Locks the ticket. Nothing is written when the deadline is unchanged (a push and a pull of the same change
    write one entry). The step's own deadline is kefu's policy for the step as routing gives it now, from when
    the step started; the earlier of that and the platform's (minus the margin) wins (``platform_clock_apply``).
    An escalated ticket keeps its escalation clock.
    """
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=False)
        if locked.platform_due_at == due_at:
            return locked
        previous = locked.platform_due_at
        locked.platform_due_at = due_at
        fields = ["platform_due_at", "version", "updated_at"]
        step = locked.STEPS[locked.state]
        if step.owner and step.owner != BUYER and locked.escalation_level == 0:
            route = step_route(route_facts(locked), owner=step.owner, deadline=step.deadline, workload=ticket_workload)
            locked.step_due_at, _warn = step_clock(
                locked, department=route.department, start=locked.step_started_at, deadline=route.deadline
            )
            platform_clock_apply(locked, now=timezone.now())
            locked.due_at = locked.step_due_at
            fields += ["step_due_at", "due_at", "warn_at"]
        locked.version += 1
        locked.updated_at = timezone.now()
        locked.save(update_fields=fields)
        event_record(
            ticket=locked,
            actor=actor,
            event_type=EventType.PLATFORM,
            public=False,
            payload={"platform_due_at": due_at, "previous": previous, "due_at": locked.due_at},
        )
        return locked


def refund_settle_on_platform(*, ticket: Ticket, actor: Actor, reference: str) -> Ticket:
    """The marketplace paid the refund itself: settle the ticket's unpaid refunds as paid by the platform (payer =
    the platform's code, its ``reference``), so the payment relay never submits them again, and complete the
    ticket as the platform (``refund_settle``). Idempotent: a ticket no longer waiting for its refund is returned
    as it is."""
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=False)
        if locked.state != "refund_pending":
            return locked
        unpaid = list(
            Refund.objects.filter(ticket_id=locked.pk, status__in=[RefundStatus.REQUESTED, RefundStatus.SUBMITTED])
            .order_by("pk")
            .values_list("idempotency_key", flat=True)
        )
        answer = PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer=locked.platform or actor.name, reference=reference)
        for key in unpaid:  # the last one completes the ticket (refund_settle, in this transaction)
            refund_settle(idempotency_key=key, answer=answer, actor=actor)
        locked = ticket_lock(ticket=locked, check_version=False)
        if locked.state != "refund_pending":
            return locked
        # No refund row left to settle (the amount was never reserved here): the platform's word completes it.
        return ticket_act(
            ticket=locked,
            actor=actor,
            action="complete_refund",
            refund=reference,
            reference=reference,
            check_version=False,
        )


def ticket_platform_refusal_record(*, ticket: Ticket, actor: Actor, command: str, message: str) -> Ticket:
    """The marketplace refused a decision taken in kefu (state already changed there, deadline passed, an
    invalid address) or it could not be delivered: the ticket goes back to the staff with the platform's message.

    Locks the ticket; raises its priority to urgent, marks it breached and due now (the sweep escalates it to
    the supervisors if nobody acts), and writes the message on the timeline (staff only).
    """
    with transaction.atomic():
        locked = ticket_lock(ticket=ticket, check_version=False)
        now = timezone.now()
        locked.priority = max(locked.priority, Priority.URGENT)
        locked.version += 1
        locked.updated_at = now
        fields = ["priority", "version", "updated_at"]
        if not locked.is_final and locked.closed_at is None:
            locked.due_at = now
            fields.append("due_at")
        locked.save(update_fields=fields)
        event_record(
            ticket=locked,
            actor=actor,
            event_type=EventType.ESCALATION,
            public=False,
            reason=message,
            payload={"platform_refused": command, "message": message},
        )
        return locked
