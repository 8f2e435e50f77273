"""Default routing: for every (kind, state) the department that must act, who we wait on, and the clock.

The expected table is written out here from SPEC "Ticket kinds" / "Routing and assignment" (and, where the
SPEC names no time, from the defaults the issue settled on); it is not read back from the kinds' STEPS.
Each state is reached the way it is in real life: opened by the buyer through the opening services, or
built one step before with the factory and moved in by one transition through the engine.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.dateparse import parse_datetime

from kefu.core.vocabulary import STATES_BY_KIND
from tests.factories.desk import (
    T0,
    open_complaint,
    open_exchange,
    open_logistics,
    open_return,
    reload,
    staff,
    staff_member,
)
from tests.factories.tickets import actor_for, ticket_build, transition_inputs
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_act
from tickets.services.engine import ticket_transition
from tickets.workflows import model_for_kind

H = timedelta(hours=1)
D = timedelta(days=1)
BUYER = "buyer"
END = None

# (kind, state) → department that must act (or BUYER, or END) and the default deadline.
EXPECTED: dict[tuple[str, str], tuple[str | None, timedelta | None]] = {
    ("return", "requested"): ("operations", 48 * H),
    ("return", "rejected"): (BUYER, 7 * D),
    ("return", "awaiting_return"): (BUYER, 7 * D),
    ("return", "return_in_transit"): ("warehouse", 10 * D),
    ("return", "received"): ("warehouse", 24 * H),
    ("return", "refund_pending"): ("operations", 24 * H),  # SPEC: "retried; failure escalates"
    ("return", "arbitration"): ("supervisors", 48 * H),
    ("return", "counter_offered"): (BUYER, 72 * H),  # 协商: the buyer answers the merchant's offer
    ("return", "evidence_submitted"): ("supervisors", 7 * D),  # 平台介入: the platform rules
    ("return", "refunded"): (END, None),
    ("return", "closed"): (END, None),
    ("return", "cancelled"): (END, None),
    ("exchange", "requested"): ("operations", 48 * H),
    ("exchange", "rejected"): (BUYER, 7 * D),
    ("exchange", "awaiting_return"): (BUYER, 7 * D),
    ("exchange", "return_in_transit"): ("warehouse", 10 * D),
    ("exchange", "received"): ("warehouse", 24 * H),
    ("exchange", "replacement_pending"): ("warehouse", 48 * H),
    ("exchange", "replacement_shipped"): (BUYER, 10 * D),
    ("exchange", "arbitration"): ("supervisors", 48 * H),
    ("exchange", "completed"): (END, None),
    ("exchange", "closed"): (END, None),
    ("exchange", "cancelled"): (END, None),
    ("complaint", "open"): ("operations", 2 * H),
    ("complaint", "acknowledged"): ("operations", 24 * H),
    ("complaint", "investigating"): ("operations", 72 * H),
    ("complaint", "escalated"): ("supervisors", 48 * H),
    ("complaint", "resolution_proposed"): (BUYER, 72 * H),
    ("complaint", "closed"): (END, None),
    ("complaint", "cancelled"): (END, None),
    ("logistics", "reported"): ("logistics", 24 * H),
    ("logistics", "investigating"): ("logistics", 72 * H),
    ("logistics", "reshipping"): ("warehouse", 24 * H),
    ("logistics", "reshipped"): ("logistics", 7 * D),
    ("logistics", "compensation_review"): ("supervisors", 24 * H),
    ("logistics", "compensating"): ("operations", 48 * H),
    ("logistics", "refunding"): ("operations", 48 * H),
    ("logistics", "found"): ("logistics", 24 * H),
    ("logistics", "resolved"): (BUYER, 72 * H),
    ("logistics", "closed"): (END, None),
    ("logistics", "cancelled"): (END, None),
}

OPEN = {"return": open_return, "exchange": open_exchange, "complaint": open_complaint, "logistics": open_logistics}

# (kind, state) → how a ticket gets there: (state before, transition, role acting, fields of the ticket).
WAY_IN: dict[tuple[str, str], tuple[str, str, str, dict]] = {
    ("return", "rejected"): ("requested", "reject", "operations", {}),
    ("return", "awaiting_return"): ("requested", "approve", "operations", {}),
    ("return", "return_in_transit"): ("awaiting_return", "ship_back", "buyer", {}),
    ("return", "received"): ("return_in_transit", "receive", "warehouse", {}),
    ("return", "refund_pending"): ("received", "pass_inspection", "warehouse", {"goods_received": True}),
    ("return", "arbitration"): ("rejected", "escalate", "buyer", {}),
    ("return", "counter_offered"): ("requested", "counter_offer", "operations", {}),
    ("return", "evidence_submitted"): ("arbitration", "submit_evidence", "supervisors", {"platform": "taobao"}),
    ("return", "refunded"): ("refund_pending", "complete_refund", "system", {}),  # the payment path
    ("return", "closed"): ("rejected", "accept_rejection", "buyer", {}),
    ("return", "cancelled"): ("requested", "cancel", "buyer", {}),
    ("exchange", "rejected"): ("requested", "reject", "operations", {}),
    ("exchange", "awaiting_return"): ("requested", "approve", "operations", {}),
    ("exchange", "return_in_transit"): ("awaiting_return", "ship_back", "buyer", {}),
    ("exchange", "received"): ("return_in_transit", "receive", "warehouse", {}),
    ("exchange", "replacement_pending"): ("received", "pass_inspection", "warehouse", {"goods_received": True}),
    ("exchange", "replacement_shipped"): ("replacement_pending", "ship_replacement", "warehouse", {}),
    ("exchange", "arbitration"): ("rejected", "escalate", "buyer", {}),
    ("exchange", "completed"): ("replacement_shipped", "confirm_receipt", "buyer", {}),
    ("exchange", "closed"): ("rejected", "accept_rejection", "buyer", {}),
    ("exchange", "cancelled"): ("requested", "cancel", "buyer", {}),
    ("complaint", "acknowledged"): ("open", "acknowledge", "operations", {}),
    ("complaint", "investigating"): ("acknowledged", "investigate", "operations", {}),
    ("complaint", "escalated"): ("investigating", "escalate", "buyer", {}),
    ("complaint", "resolution_proposed"): ("investigating", "propose_resolution", "operations", {}),
    ("complaint", "closed"): ("resolution_proposed", "accept_resolution", "buyer", {}),
    ("complaint", "cancelled"): ("open", "cancel", "buyer", {}),
    ("logistics", "investigating"): ("reported", "investigate", "logistics", {}),
    ("logistics", "reshipping"): ("investigating", "reship", "logistics", {}),
    ("logistics", "reshipped"): ("reshipping", "mark_reshipped", "warehouse", {}),
    ("logistics", "compensating"): ("investigating", "compensate", "logistics", {}),
    ("logistics", "compensation_review"): ("investigating", "compensate", "logistics", {}),
    ("logistics", "refunding"): ("investigating", "refund", "logistics", {}),
    ("logistics", "found"): ("investigating", "mark_found", "logistics", {}),
    ("logistics", "resolved"): ("found", "resolve", "logistics", {}),
    ("logistics", "closed"): ("resolved", "confirm", "buyer", {}),
    ("logistics", "cancelled"): ("reported", "cancel", "buyer", {}),
}

# What the declared prepare effect passes besides the inputs (ticket_act computes it; these tests call the engine).
PREPARED = {("logistics", "compensation_review"): {"needs_approval": True}}

pytestmark = pytest.mark.django_db


def test_the_table_covers_every_state_of_every_kind():
    every = {(kind, state) for kind, states in STATES_BY_KIND.items() for state in states.values}
    assert set(EXPECTED) == every
    opened_in = {(kind, model_for_kind(kind).INITIAL_STATE) for kind in STATES_BY_KIND}
    assert set(WAY_IN) == every - opened_in


def _enter(kind: str, state: str) -> Ticket:
    """A ticket that has just entered ``state`` (at T0), through the services."""
    if (kind, state) not in WAY_IN:
        return OPEN[kind]()
    source, transition, role, fields = WAY_IN[(kind, state)]
    ticket = ticket_build(kind, source, **fields)
    reason, params = transition_inputs(ticket, transition)
    params.update(PREPARED.get((kind, state), {}))
    return ticket_transition(
        ticket=ticket, actor=actor_for(role, ticket), transition=transition, reason=reason, params=params
    )


@pytest.mark.parametrize(("kind", "state"), list(EXPECTED), ids=[f"{k}-{s}" for k, s in EXPECTED])
def test_entering_a_state_routes_to_its_department_with_its_clock(clock, kind, state):
    owner, deadline = EXPECTED[(kind, state)]

    ticket = reload(_enter(kind, state))

    assert ticket.state == state
    assert ticket.step_started_at == T0
    if owner is END:
        assert (ticket.department, ticket.waiting_on, ticket.due_at, ticket.assignee) == (None, "nobody", None, None)
    elif owner == BUYER:
        assert (ticket.department, ticket.waiting_on, ticket.assignee) == (None, "buyer", None)
    else:
        assert (ticket.department, ticket.waiting_on) == (owner, "merchant")
    assert ticket.due_at == (T0 + deadline if deadline else None)
    assert ticket.step_due_at == ticket.due_at
    assert ticket.closed_at == (T0 if owner is END else None)
    # The timeline says where the ticket went and until when.
    last = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type__in=["created", "transition"]).last()
    assert last.payload["department"] == ticket.department
    assert (parse_datetime(last.payload["due_at"]) if last.payload["due_at"] else None) == ticket.due_at


def test_a_return_finds_each_team_by_itself_as_it_moves(clock):
    """Operations reviews, the buyer ships, the warehouse receives, operations refunds: nobody routes by hand."""
    agent = staff_member("operations")
    packer = staff_member("warehouse")
    ticket = open_return()
    assert (ticket.department, ticket.assignee) == ("operations", agent)

    clock.shift(2 * H)
    ticket = ticket_act(ticket=ticket, actor=staff(agent), action="approve")
    assert (ticket.department, ticket.waiting_on, ticket.assignee, ticket.due_at) == (
        None,
        "buyer",
        None,
        T0 + 2 * H + 7 * D,
    )

    clock.shift(D)
    ticket = ticket_act(
        ticket=ticket, actor=actor_for("buyer", ticket), action="ship_back", carrier="YTO", tracking_number="YT1"
    )
    assert (ticket.department, ticket.assignee, ticket.due_at) == ("warehouse", packer, T0 + 26 * H + 10 * D)

    clock.shift(2 * D)
    ticket = ticket_act(ticket=ticket, actor=staff(packer), action="receive")
    assert (ticket.department, ticket.assignee, ticket.due_at) == ("warehouse", packer, T0 + 74 * H + 24 * H)

    clock.shift(3 * H)
    ticket = ticket_act(ticket=ticket, actor=staff(packer), action="pass_inspection")
    assert (ticket.state, ticket.department, ticket.assignee) == ("refund_pending", "operations", agent)
