"""Every step an incident runs on a ticket is a transition declared on the ticket's kind, taken from the state the
path says it is taken from, by whom the declaration allows (incidents.paths against tickets.actions)."""

from __future__ import annotations

import pytest

from incidents.paths import ANSWER_PATHS, BUYER, CLOSING_PATHS, answer_steps
from kefu.core.vocabulary import LogisticsState
from tickets.actions import action_get
from tickets.actors import Role
from tickets.workflows import model_for_kind


def _walk(kind: str, state: str, actions: list[str], roles: list[str]) -> str:
    for action, role in zip(actions, roles, strict=True):
        declared = action_get(kind, action)
        assert declared is not None, f"{kind}.{action} is not declared"
        assert not declared.system_only, f"{kind}.{action} is the system's own"
        assert state in declared.sources, f"{kind}.{action} is not declared from {state}"
        assert role in declared.roles or (
            role == Role.SUPERVISORS and set(declared.roles) & {"operations", "warehouse", "logistics", "supervisors"}
        ), f"{kind}.{action} may not be run by {role}"
        assert len(declared.targets) >= 1
        state = declared.targets[0]
    return state


@pytest.mark.parametrize(("kind", "offer"), list(ANSWER_PATHS))
def test_every_answer_path_is_a_walk_through_declared_transitions(kind, offer) -> None:
    path = ANSWER_PATHS[(kind, offer)]
    for source in path.sources:
        steps = answer_steps(path, source)
        assert steps
        roles = [Role.BUYER if step.by == BUYER else Role.SUPERVISORS for step in steps]
        _walk(kind, source, [step.action for step in steps], roles)


@pytest.mark.parametrize(("kind", "state"), list(CLOSING_PATHS))
def test_every_closing_path_ends_where_the_buyer_or_nobody_acts(kind, state) -> None:
    actions = list(CLOSING_PATHS[(kind, state)])
    end = _walk(kind, state, actions, [Role.SUPERVISORS] * len(actions))
    model = model_for_kind(kind)
    assert end in model.FINAL_STATES or model.STEPS[end].owner == "buyer", (kind, state, end)


def test_money_under_way_is_never_cut_short() -> None:
    for state in (LogisticsState.COMPENSATION_REVIEW, LogisticsState.COMPENSATING, LogisticsState.REFUNDING):
        assert ("logistics", state) not in CLOSING_PATHS
