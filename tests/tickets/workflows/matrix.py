"""The table-driven check every kind's workflow test runs.

Each ``test_<kind>.py`` writes its expected table by hand, from the SPEC: the kind's states, the step of
each state (department, who we wait on, default deadline), every allowed move (source, transition, target,
and the ticket fields that choose between targets) and the roles that run each transition. This module
turns that table into test cases (one pytest id each) and checks them through ``ticket_transition``, the
path every caller takes. Nothing here reads the state machine's own metadata, so a change to the
workflow that the table does not foresee fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.vocabulary import STATES_BY_KIND
from tests.factories.tickets import ACTOR_ROLES, actor_for, ticket_build, ticket_reload, transition_inputs
from tickets.actors import ActorKind
from tickets.errors import NotPermitted, TransitionNotAllowed
from tickets.models import TicketEvent
from tickets.services.engine import ticket_transition

STAFF_ROLES = frozenset({"operations", "warehouse", "logistics", "supervisors"})


@dataclass(frozen=True)
class Step:
    department: str | None
    waiting_on: str
    deadline: timedelta | None


def merchant(department: str, deadline: timedelta) -> Step:
    return Step(department, "merchant", deadline)


def buyer(deadline: timedelta) -> Step:
    return Step(None, "buyer", deadline)


END = Step(None, "nobody", None)


@dataclass(frozen=True)
class Move:
    source: str
    transition: str
    target: str
    fields: dict[str, Any] = field(default_factory=dict)
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.source}-{self.transition}" + (f"[{self.variant}]" if self.variant else "")


@dataclass(frozen=True)
class Table:
    kind: str
    steps: dict[str, Step]
    # transition → the roles that run it; the first is the one the allowed-move tests act as.
    roles: dict[str, tuple[str, ...]]
    moves: tuple[Move, ...]

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.steps)

    def permitted(self, transition: str, role: str) -> bool:
        """The role rule: the listed roles, and supervisors for every transition a department runs."""
        roles = set(self.roles[transition])
        if role == "supervisors":
            return bool(roles & STAFF_ROLES)
        return role in roles

    def allowed_cases(self) -> list[Any]:
        return [pytest.param(move, id=move.id) for move in self.moves]

    def forbidden_cases(self) -> list[Any]:
        allowed = {(m.source, m.transition) for m in self.moves}
        return [
            pytest.param(state, transition, id=f"{state}-{transition}")
            for state in self.states
            for transition in self.roles
            if (state, transition) not in allowed
        ]

    def role_cases(self) -> list[Any]:
        """Every (source, transition) pair once, with every kind of actor."""
        firsts: dict[tuple[str, str], Move] = {}
        for move in self.moves:
            firsts.setdefault((move.source, move.transition), move)
        return [pytest.param(move, role, id=f"{move.id}-{role}") for move in firsts.values() for role in ACTOR_ROLES]


def _run(ticket: Any, transition: str, actor: Any) -> Any:
    reason, params = transition_inputs(ticket, transition)
    return ticket_transition(ticket=ticket, actor=actor, transition=transition, reason=reason, params=params)


def _assert_unchanged(ticket: Any, *, events_before: int) -> None:
    stored = ticket_reload(ticket)
    assert stored.state == ticket.state
    assert stored.version == ticket.version
    assert TicketEvent.objects.filter(ticket_id=ticket.pk).count() == events_before


def check_allowed(table: Table, move: Move) -> None:
    """The move succeeds as its first role, lands in the target, and records and routes the new step."""
    ticket = ticket_build(table.kind, move.source, **move.fields)
    actor = actor_for(table.roles[move.transition][0], ticket)
    started = timezone.now()

    result = _run(ticket, move.transition, actor)

    finished = timezone.now()
    stored = ticket_reload(ticket)
    assert result.state == stored.state == move.target
    assert stored.version == ticket.version + 1
    event = TicketEvent.objects.get(ticket_id=ticket.pk, event_type="transition")
    assert (event.transition, event.from_state, event.to_state) == (move.transition, move.source, move.target)
    assert (event.actor_kind, event.actor_name) == (actor.kind, actor.name)
    assert event.actor_user_id == (actor.user.pk if actor.kind == ActorKind.STAFF else None)
    step = table.steps[move.target]
    assert (stored.department, stored.waiting_on) == (step.department, step.waiting_on)
    assert started <= stored.step_started_at <= finished
    assert event.payload["department"] == step.department
    if step.deadline is None:
        assert stored.due_at is None
        assert stored.closed_at == stored.step_started_at
    else:
        assert stored.due_at == stored.step_started_at + step.deadline
        assert stored.closed_at is None


def check_forbidden(table: Table, state: str, transition: str) -> None:
    """Refused with the ticket's number and state named; nothing changes."""
    ticket = ticket_build(table.kind, state)
    actor = actor_for(table.roles[transition][0], ticket)
    events_before = TicketEvent.objects.filter(ticket_id=ticket.pk).count()

    with pytest.raises(TransitionNotAllowed) as refused:
        _run(ticket, transition, actor)

    assert refused.value.code == "transition_not_allowed"
    assert ticket.number in refused.value.message
    assert f"({state})" in refused.value.message
    _assert_unchanged(ticket, events_before=events_before)


def check_role(table: Table, move: Move, role: str) -> None:
    """A permitted role runs the move; any other (and a buyer on someone else's ticket) is refused."""
    ticket = ticket_build(table.kind, move.source, **move.fields)
    actor = actor_for(role, ticket)
    events_before = TicketEvent.objects.filter(ticket_id=ticket.pk).count()

    if table.permitted(move.transition, role):
        assert _run(ticket, move.transition, actor).state == move.target
        assert ticket_reload(ticket).state == move.target
        return
    with pytest.raises(NotPermitted) as refused:
        _run(ticket, move.transition, actor)
    assert refused.value.code == "not_permitted"
    assert ticket.number in refused.value.message
    _assert_unchanged(ticket, events_before=events_before)


def check_covers_the_model(table: Table, model: type) -> None:
    """The table lists every state and transition the kind has, so nothing added later goes untested."""
    assert set(table.states) == set(STATES_BY_KIND[table.kind].values)
    transitions = {name for name in dir(model) if hasattr(getattr(model, name, None), "_django_fsm")}
    assert transitions == set(table.roles)
