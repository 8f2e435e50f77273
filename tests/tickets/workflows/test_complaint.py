"""投诉: every allowed and every forbidden transition of a complaint, who may run each, and the reopen limit.

The expected table is written out here from SPEC "complaint" (first response within 2 h, 72 h for the buyer
to answer a proposed resolution, reopen a limited number of times, escalate to supervisors);
tests/tickets/workflows/matrix.py runs it through the engine.
"""

from __future__ import annotations

import pytest
from django.utils import translation
from pytest_django import Settings

from tests.factories.tickets import buyer_actor, staff_actor, ticket_build, ticket_reload
from tests.tickets.workflows.matrix import (
    END,
    Move,
    Table,
    buyer,
    check_allowed,
    check_covers_the_model,
    check_forbidden,
    check_role,
    merchant,
)
from tickets.errors import FieldRequired, TransitionNotAllowed
from tickets.models import ComplaintTicket, TicketEvent
from tickets.services import ticket_act
from tickets.workflows.steps import hours

COMPLAINT = Table(
    kind="complaint",
    steps={
        "open": merchant("operations", hours(2)),
        "acknowledged": merchant("operations", hours(24)),
        "investigating": merchant("operations", hours(72)),
        "escalated": merchant("supervisors", hours(48)),
        "resolution_proposed": buyer(hours(72)),
        "closed": END,
        "cancelled": END,
    },
    roles={
        "acknowledge": ("operations",),
        "investigate": ("operations",),
        "propose_resolution": ("operations", "supervisors"),
        "accept_resolution": ("buyer",),
        "expire": ("system",),
        "reopen": ("buyer",),
        "escalate": ("buyer", "operations"),
        "dismiss": ("supervisors",),
        "cancel": ("buyer",),
    },
    moves=(
        Move("open", "acknowledge", "acknowledged"),
        Move("open", "escalate", "escalated"),
        Move("open", "dismiss", "closed"),
        Move("open", "cancel", "cancelled"),
        Move("acknowledged", "investigate", "investigating"),
        Move("acknowledged", "escalate", "escalated"),
        Move("acknowledged", "dismiss", "closed"),
        Move("acknowledged", "cancel", "cancelled"),
        Move("investigating", "propose_resolution", "resolution_proposed"),
        Move("investigating", "escalate", "escalated"),
        Move("investigating", "dismiss", "closed"),
        Move("investigating", "cancel", "cancelled"),
        Move("escalated", "propose_resolution", "resolution_proposed"),
        Move("escalated", "dismiss", "closed"),
        Move("escalated", "cancel", "cancelled"),
        Move("resolution_proposed", "accept_resolution", "closed"),
        Move("resolution_proposed", "expire", "closed"),
        Move("resolution_proposed", "reopen", "investigating"),
        Move("resolution_proposed", "escalate", "escalated"),
        Move("resolution_proposed", "cancel", "cancelled"),
        # Closed is an end state, but the buyer may still reopen it while reopens are left.
        Move("closed", "reopen", "investigating", {"reopen_count": 0}),
    ),
)

pytestmark = pytest.mark.django_db


def test_the_table_covers_every_state_and_transition_of_a_complaint() -> None:
    check_covers_the_model(COMPLAINT, ComplaintTicket)


@pytest.mark.parametrize("move", COMPLAINT.allowed_cases())
def test_allowed_transition(move: Move) -> None:
    check_allowed(COMPLAINT, move)


@pytest.mark.parametrize(("state", "transition"), COMPLAINT.forbidden_cases())
def test_forbidden_transition_is_refused_and_changes_nothing(state: str, transition: str) -> None:
    check_forbidden(COMPLAINT, state, transition)


@pytest.mark.parametrize(("move", "role"), COMPLAINT.role_cases())
def test_who_may_run_it(move: Move, role: str) -> None:
    check_role(COMPLAINT, move, role)


@pytest.mark.parametrize(
    ("state", "reopen_count", "final"),
    [
        ("open", 0, False),
        ("resolution_proposed", 2, False),
        ("closed", 0, False),
        ("closed", 1, False),
        ("closed", 2, True),
        ("cancelled", 0, True),
    ],
)
def test_closed_is_final_only_once_no_reopen_is_left(state: str, reopen_count: int, final: bool) -> None:
    assert ticket_build("complaint", state, reopen_count=reopen_count).is_final is final


def _reopen_until_refused(ticket: ComplaintTicket) -> tuple[int, TransitionNotAllowed]:
    """Propose, let the buyer accept, reopen; repeat until the reopen is refused. Returns (reopens, refusal)."""
    agent, customer = staff_actor("operations"), buyer_actor(ticket)
    reopens = 0
    while True:
        ticket = ticket_act(ticket=ticket, actor=agent, action="propose_resolution", resolution="补发配件")
        ticket = ticket_act(ticket=ticket, actor=customer, action="accept_resolution")
        try:
            ticket = ticket_act(ticket=ticket, actor=customer, action="reopen", reason="配件也是坏的")
        except TransitionNotAllowed as refused:
            return reopens, refused
        reopens += 1
        assert reopens <= 10, "the reopen limit never applied"


def test_a_buyer_reopens_at_most_the_default_two_times() -> None:
    ticket = ticket_build("complaint", "investigating")

    with translation.override("en"):  # the message is formatted when raised, in the active language
        reopens, refused = _reopen_until_refused(ticket)

    assert reopens == 2
    assert refused.code == "transition_not_allowed"
    assert refused.message == f"Complaint {ticket.number} was already reopened 2 times (the limit)."
    stored = ticket_reload(ticket)
    assert (stored.state, stored.reopen_count) == ("closed", 2)
    assert stored.is_final
    assert TicketEvent.objects.filter(ticket=ticket, transition="reopen").count() == 2


def test_the_reopen_limit_is_a_setting(settings: Settings) -> None:
    settings.KEFU_COMPLAINT_MAX_REOPENS = 1
    ticket = ticket_build("complaint", "investigating")

    with translation.override("en"):
        reopens, refused = _reopen_until_refused(ticket)

    assert reopens == 1
    assert "already reopened 1 times" in refused.message


def test_reopening_from_a_proposed_resolution_counts_too() -> None:
    ticket = ticket_build("complaint", "resolution_proposed", reopen_count=2)
    with translation.override("en"), pytest.raises(TransitionNotAllowed, match="the limit"):
        ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="reopen", reason="还是不满意")
    assert ticket_reload(ticket).state == "resolution_proposed"


def test_a_reopen_needs_a_reason() -> None:
    ticket = ticket_build("complaint", "closed")
    with pytest.raises(FieldRequired) as refused:
        ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="reopen", reason="  ")
    assert (refused.value.code, refused.value.field) == ("field_required", "reason")
    stored = ticket_reload(ticket)
    assert (stored.state, stored.reopen_count, stored.version) == ("closed", 0, ticket.version)


def test_reopening_restarts_the_investigation_clock_and_clears_closed_at() -> None:
    ticket = ticket_build("complaint", "acknowledged")
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="investigate")
    ticket = ticket_act(
        ticket=ticket, actor=staff_actor("operations"), action="propose_resolution", resolution="退款 20 元"
    )
    ticket = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="accept_resolution")
    assert ticket.closed_at is not None

    ticket = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="reopen", reason="没收到退款")

    stored = ticket_reload(ticket)
    assert (stored.state, stored.department, stored.closed_at) == ("investigating", "operations", None)
    assert stored.due_at == stored.step_started_at + hours(72)
