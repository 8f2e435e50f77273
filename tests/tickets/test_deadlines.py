"""The deadline sweep with a frozen clock: platform timeouts, internal SLAs, warnings, idempotency.

For each clock of the kinds' tables (written out here from the SPEC): one second before the deadline the
sweep leaves the ticket alone, one second after it acts, through the same services a person uses, and
the timeline says the system ("deadline sweep") did it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone, translation

from orders.models import OrderLine, Shipment
from routing.models import DeadlinePolicy
from tests.factories.desk import T0, assignment_events, open_complaint, reload, staff, staff_member, sweep_events
from tests.factories.tickets import ticket_build
from tickets.actions import action_get
from tickets.models import EventType, Priority, Refund, Ticket, TicketEvent
from tickets.services import ticket_act
from tickets.services.deadlines import SWEEP_ACTOR, due_ticket_ids, sweep_due, ticket_process_due
from tickets.wording import event_reason

H = timedelta(hours=1)
D = timedelta(days=1)
S = timedelta(seconds=1)

pytestmark = pytest.mark.django_db

# kind, state, ticket fields, deadline, the transition the platform rule runs, where it leads.
TIMEOUTS = [
    ("return", "requested", {}, 48 * H, "approve", "awaiting_return"),
    ("return", "requested", {"refund_only": True}, 48 * H, "approve", "refund_pending"),
    ("return", "rejected", {}, 7 * D, "expire", "closed"),
    ("return", "awaiting_return", {}, 7 * D, "expire", "closed"),
    ("return", "return_in_transit", {}, 10 * D, "auto_refund", "refund_pending"),
    # 协商: a counter-offer the buyer leaves unanswered goes back to the staff.
    ("return", "counter_offered", {}, 72 * H, "decline_offer", "requested"),
    ("exchange", "requested", {}, 48 * H, "approve", "awaiting_return"),
    ("exchange", "rejected", {}, 7 * D, "expire", "closed"),
    ("exchange", "awaiting_return", {}, 7 * D, "expire", "closed"),
    # The replacement is delivered when the step starts; the 10 days count from delivery (below).
    ("exchange", "replacement_shipped", {"replacement_delivered_at": T0}, 10 * D, "auto_complete", "completed"),
    ("complaint", "resolution_proposed", {}, 72 * H, "expire", "closed"),
    ("logistics", "resolved", {}, 72 * H, "expire", "closed"),
]

# kind, state, internal SLA (escalates when it runs out).
SLAS = [
    ("return", "received", 24 * H),
    ("return", "refund_pending", 24 * H),
    ("return", "arbitration", 48 * H),
    ("return", "evidence_submitted", 7 * D),
    ("exchange", "return_in_transit", 10 * D),
    ("exchange", "received", 24 * H),
    ("exchange", "replacement_pending", 48 * H),
    ("exchange", "arbitration", 48 * H),
    ("complaint", "open", 2 * H),
    ("complaint", "acknowledged", 24 * H),
    ("complaint", "investigating", 72 * H),
    ("complaint", "escalated", 48 * H),
    ("logistics", "reported", 24 * H),
    ("logistics", "investigating", 72 * H),
    ("logistics", "reshipping", 24 * H),
    ("logistics", "reshipped", 7 * D),
    ("logistics", "compensating", 48 * H),
    ("logistics", "refunding", 48 * H),
    ("logistics", "found", 24 * H),
]


def acted_on(ticket) -> list[TicketEvent]:
    """The sweep's transitions and escalations on the ticket (warnings are not acting)."""
    return [e for e in sweep_events(ticket) if e.event_type in (EventType.TRANSITION, EventType.ESCALATION)]


@pytest.mark.parametrize(
    ("kind", "state", "fields", "deadline", "transition", "target"),
    TIMEOUTS,
    ids=[f"{t[0]}-{t[1]}-{t[4]}" + ("-refund_only" if t[2] else "") for t in TIMEOUTS],
)
def test_a_platform_timeout_runs_its_transition_just_after_the_deadline(
    clock, kind, state, fields, deadline, transition, target
):
    ticket = with_replacement(ticket_build(kind, state, **without_delivery(fields)), fields)

    clock.shift(deadline - S)
    assert sweep_due().acted == 0
    assert reload(ticket).state == state
    assert acted_on(ticket) == []

    clock.shift(2 * S)
    result = sweep_due()

    assert (result.transitioned, result.escalated, result.errors) == (1, 0, [])
    ticket = reload(ticket)
    assert (ticket.state, ticket.sla_breached, ticket.escalation_level) == (target, False, 0)
    (event,) = acted_on(ticket)
    assert (event.event_type, event.actor_kind, event.actor_name) == ("transition", "system", SWEEP_ACTOR)
    assert (event.transition, event.from_state, event.to_state) == (transition, state, target)
    assert event.created_at == T0 + deadline + S
    if target == "refund_pending":  # the money is reserved as when a person approves
        (refund,) = Refund.objects.filter(ticket_id=ticket.pk)
        assert refund.amount == ticket.requested_amount == Decimal("100.00")
        assert OrderLine.objects.get(order=ticket.order).refunded_amount == Decimal("100.00")


def without_delivery(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k != "replacement_delivered_at"}


def with_replacement(ticket, fields: dict):
    """Give an exchange a replacement parcel delivered at ``fields["replacement_delivered_at"]``."""
    if "replacement_delivered_at" not in fields:
        return ticket
    shipment = Shipment.objects.create(
        order=ticket.order,
        direction="replacement",
        carrier="SF",
        tracking_number=f"SF-R-{ticket.pk}",
        status="delivered",
        delivered_at=fields["replacement_delivered_at"],
    )
    type(ticket).objects.filter(pk=ticket.pk).update(replacement_shipment=shipment)
    return reload(ticket)


def test_an_exchange_completes_ten_days_after_the_replacement_is_delivered_not_shipped(clock):
    ticket = ticket_build("exchange", "replacement_shipped")
    shipment = Shipment.objects.create(
        order=ticket.order, direction="replacement", carrier="SF", tracking_number="SF-R-late", status="in_transit"
    )
    type(ticket).objects.filter(pk=ticket.pk).update(replacement_shipment=shipment)

    clock.shift(10 * D + S)  # ten days after shipping, still on the road: nothing happens, looked at daily
    result = sweep_due()
    assert (result.transitioned, result.escalated, result.postponed) == (0, 0, 1)
    assert reload(ticket).state == "replacement_shipped"

    Shipment.objects.filter(pk=shipment.pk).update(status="delivered", delivered_at=timezone.now())
    clock.shift(1 * D)  # the daily look sees the delivery and waits ten days from it
    assert sweep_due().postponed == 1
    clock.shift(9 * D - S)  # ten days after delivery, less a second
    assert sweep_due().acted == 0
    clock.shift(2 * S)
    assert sweep_due().transitioned == 1
    assert reload(ticket).state == "completed"


@pytest.mark.parametrize(("kind", "state", "deadline"), SLAS, ids=[f"{k}-{s}" for k, s, _ in SLAS])
def test_an_internal_sla_escalates_to_supervisors_just_after_the_deadline(clock, kind, state, deadline):
    boss = staff_member("supervisors", username="boss")
    ticket = ticket_build(kind, state)
    owner = ticket.department

    clock.shift(deadline - S)
    assert sweep_due().acted == 0
    assert (reload(ticket).sla_breached, acted_on(ticket)) == (False, [])

    clock.shift(2 * S)
    result = sweep_due()

    assert (result.transitioned, result.escalated, result.errors) == (0, 1, [])
    ticket = reload(ticket)
    assert ticket.state == state
    assert (ticket.priority, ticket.sla_breached, ticket.escalation_level) == (Priority.HIGH, True, 1)
    assert (ticket.department, ticket.assignee) == ("supervisors", boss)
    assert ticket.due_at == T0 + deadline + S + 24 * H  # looked at again in a day
    # The step keeps its own figures: it was the owning team's, and it was due then.
    assert (ticket.step_department, ticket.step_due_at) == (owner, T0 + deadline)
    (event,) = acted_on(ticket)
    assert (event.event_type, event.actor_kind, event.actor_name) == ("escalation", "system", SWEEP_ACTOR)
    assert (event.payload["level"], event.payload["previous_department"]) == (1, owner)


def test_the_escalation_hands_the_ticket_to_a_supervisor_on_the_timeline(clock):
    staff_member("supervisors", username="boss")
    agent = staff_member("operations", username="agent")
    ticket = open_complaint()
    assert ticket.assignee == agent

    clock.shift(2 * H + S)
    sweep_due()

    assert reload(ticket).assignee.username == "boss"
    last = assignment_events(ticket)[-1]
    assert (last.payload["previous"], last.payload["assignee"]) == ("agent", "boss")


def test_an_escalation_is_checked_again_every_24_hours_up_to_three_levels(clock):
    ticket = open_complaint(severity=1)  # low severity: low priority
    assert ticket.priority == Priority.LOW
    clock.shift(2 * H + S)
    sweep_due()
    levels = [(reload(ticket).escalation_level, reload(ticket).priority)]

    for _ in range(2):
        clock.shift(24 * H - 2 * S)
        assert sweep_due().acted == 0
        clock.shift(2 * S)
        assert sweep_due().escalated == 1
        levels.append((reload(ticket).escalation_level, reload(ticket).priority))

    assert levels == [(1, Priority.NORMAL), (2, Priority.HIGH), (3, Priority.URGENT)]
    assert reload(ticket).due_at is None
    clock.shift(10 * D)
    assert sweep_due().acted == 0
    assert len(acted_on(ticket)) == 3
    assert reload(ticket).state == "open"


def test_priority_never_goes_past_urgent(clock):
    ticket = open_complaint(severity=4)
    clock.shift(2 * H + S)
    sweep_due()
    assert (reload(ticket).priority, reload(ticket).escalation_level) == (Priority.URGENT, 1)


@pytest.mark.parametrize(
    ("state", "deadline", "transition"),
    [
        ("requested", 48 * H, "approve"),
        ("return_in_transit", 10 * D, "auto_refund"),
    ],
)
def test_an_automatic_transition_that_is_refused_escalates_instead(clock, state, deadline, transition):
    ticket = ticket_build("return", state, refund_only=True)
    # Meanwhile the whole line was refunded by another ticket: nothing is left to refund.
    OrderLine.objects.filter(order=ticket.order).update(refunded_amount=Decimal("100.00"))

    clock.shift(deadline + S)
    result = sweep_due()

    assert (result.transitioned, result.escalated, result.errors) == (0, 1, [])
    ticket = reload(ticket)
    assert (ticket.state, ticket.sla_breached, ticket.department) == (state, True, "supervisors")
    assert not Refund.objects.filter(ticket_id=ticket.pk).exists()
    (event,) = acted_on(ticket)
    assert event.event_type == "escalation"
    # The reason is a code and its parameters, read in each reader's language (tickets.wording).
    assert (event.payload["reason_code"], event.payload["reason_params"]["action"]) == ("deadline_refused", transition)
    label = action_get("return", transition).label
    with translation.override("en"):
        assert f"but “{label}” was refused: " in event_reason(event)
    with translation.override("zh-hans"):
        assert f"但自动“{label}”被拒绝" in event_reason(event)


def test_sweeping_twice_acts_once(clock):
    tickets = [ticket_build("return", "requested"), ticket_build("complaint", "open")]
    clock.shift(3 * D)

    first, second = sweep_due(), sweep_due()

    assert (first.transitioned, first.escalated) == (1, 1)
    assert (second.acted, second.warned) == (0, 0)
    assert [len(acted_on(t)) for t in tickets] == [1, 1]


def test_a_ticket_changed_after_the_sweep_found_it_is_left_alone(clock):
    agent = staff_member("operations")
    ticket = ticket_build("return", "requested")
    clock.shift(48 * H + S)
    now = timezone.now()
    assert (ticket.pk, "return") in due_ticket_ids(now=now, limit=10)

    ticket_act(ticket=ticket, actor=staff(agent), action="approve")  # the agent was quicker: the clock moved on
    outcome = ticket_process_due(ticket_id=ticket.pk, kind="return", now=now)

    assert outcome == "skipped"
    assert acted_on(ticket) == []
    assert [e.actor_name for e in TicketEvent.objects.filter(ticket_id=ticket.pk, event_type="transition")] == [
        agent.username
    ]


# -- warnings --------------------------------------------------------------------------------------------


def warnings(ticket) -> list[TicketEvent]:
    return [e for e in sweep_events(ticket) if e.event_type == EventType.WARNING]


def test_a_warning_goes_out_at_80_percent_once_per_step(clock):
    ticket = ticket_build("return", "requested")

    clock.shift(48 * H * 0.8 - S)
    assert sweep_due().warned == 0
    clock.shift(2 * S)
    assert sweep_due().warned == 1
    assert sweep_due().warned == 0  # once
    (warning,) = warnings(ticket)
    assert (warning.actor_kind, warning.public) == ("system", False)
    assert warning.payload["department"] == "operations"

    clock.shift(48 * H * 0.2)  # past the deadline: approved, the buyer's 7 days start with their own warning
    sweep_due()
    assert reload(ticket).state == "awaiting_return"
    clock.shift(7 * D * 0.8 - S)
    assert sweep_due().warned == 0
    clock.shift(2 * S)
    assert sweep_due().warned == 1
    assert len(warnings(ticket)) == 2


def test_a_policy_warns_at_its_own_percentage(clock):
    DeadlinePolicy.objects.create(
        name="fast first reply", kind="complaint", state="open", duration=10 * H, warn_at_percent=50
    )
    ticket = open_complaint()

    clock.shift(5 * H - S)
    assert sweep_due().warned == 0
    clock.shift(2 * S)
    assert sweep_due().warned == 1
    assert len(warnings(ticket)) == 1


def test_an_escalated_ticket_gets_no_more_warnings(clock):
    ticket = open_complaint()
    clock.shift(2 * H + S)
    # Escalated before its warning went out (the sweep had been down): the warning is moot now.
    assert ticket_process_due(ticket_id=ticket.pk, kind="complaint", now=timezone.now()) == "escalated"

    assert reload(ticket).warn_at is None
    assert sweep_due().warned == 0
    clock.shift(23 * H)  # nor before the next check
    assert sweep_due().warned == 0
    assert warnings(ticket) == []


def test_a_ticket_that_breaks_the_sweep_is_moved_aside_and_the_others_are_still_acted_on(clock, monkeypatch):
    import tickets.services.deadlines as sweep_module

    broken = ticket_build("return", "requested")
    fine = ticket_build("return", "requested")
    real = sweep_module.ticket_process_due

    def process(*, ticket_id, kind, now):
        if ticket_id == broken.pk:
            raise RuntimeError("corrupt row")
        return real(ticket_id=ticket_id, kind=kind, now=now)

    monkeypatch.setattr(sweep_module, "ticket_process_due", process)
    clock.shift(48 * H + S)
    result = sweep_due(batch=1)

    assert (result.transitioned, len(result.errors)) == (1, 1)
    assert reload(fine).state == "awaiting_return"
    assert reload(broken).due_at == timezone.now() + timedelta(hours=1)  # looked at again in an hour


# Committed transactions, as in a worker: inside a test's transaction every atomic block would add a savepoint.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_sweep_sends_two_statements_per_transition_on_postgresql_and_two_per_escalation(clock):
    """What the sweep costs the database (docs/performance.md, "Deadline sweep"), counted exactly.

    Per automatic transition, in a transaction of its own: the lock (which reads the ticket with its shop, buyer
    and assignee), the automation guards' read (tickets.automation: the risk app's open flags of the buyer), the
    UPDATE and the timeline INSERT (one statement on PostgreSQL: kefu.core.writes). Per
    escalation, a chunk at a time: the UPDATE and the timeline INSERT, plus one lock for the chunk and the
    supervisors' rows and load once. Around them: the warnings' and the due tickets' lookups, and the empty lookup
    that ends the sweep. The shop notifies nobody
    and nobody is on duty among the supervisors, so no outbox row and no assignment is written.
    """
    for _ in range(3):
        ticket_build("return", "requested")  # 48 h, then approved
        ticket_build("return", "received")  # 24 h internal SLA, then escalated
    staff_member("supervisors", on_duty=False)
    Ticket.objects.update(warn_at=None)  # warnings are another part of the sweep
    clock.shift(48 * H + S)
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: transaction control, as COMMIT (not counted)
            statements.append(sql)
        return execute(sql, params, many, context)

    from kefu.core.config_cache import _snapshots

    for snapshot in _snapshots:  # the configuration a running worker holds already
        snapshot.get()
    with connection.execute_wrapper(count):
        result = sweep_due()

    assert (result.transitioned, result.escalated, result.errors) == (3, 3, [])
    lookups = 3  # warnings due, tickets due, tickets due again (none left)
    # + 1: the guards of tickets.automation ask before each automatic approve (the risk app: the buyer's open flags)
    per_transition = (2 if connection.vendor == "postgresql" else 3) + 1
    assert len(statements) == lookups + 3 * per_transition + (1 + 3 * 2), "\n".join(statements)  # 2.7 per ticket
    assert not [sql for sql in statements if "SAVEPOINT" in sql]
