"""The catalogue of ticket actions: every transition of every kind, as declared once on its model.

``@transition(..., permission=by(...), custom=Act(...))`` in ``tickets/workflows/<kind>.py`` is the only
declaration (``tickets.workflows.acts`` says what ``Act`` holds). This module reads them into :class:`Action`
rows keyed by (kind, name); the service (``tickets.services.acting.ticket_act``), the API's input serializers
and action list, the admin's buttons, forms and bulk actions, and the docs' tables
(``graph_transitions``) are all derived from it. A transition without an ``Act`` is refused when the
catalogue is built, so none can be added without its declaration.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django_fsm import State

from tickets.actors import Role
from tickets.workflows import model_for_kind, ticket_models
from tickets.workflows.acts import Act, Effect, Need

if TYPE_CHECKING:
    from tickets.actors import Actor
    from tickets.models import Ticket


@dataclass(frozen=True)
class Action:
    """One transition of one kind, with its declaration and what django-fsm knows of it."""

    kind: str
    name: str
    act: Act
    roles: tuple[str, ...]  # who may run it (``permission=by(...)``), in ``Role`` order
    sources: tuple[str, ...]
    targets: tuple[str, ...]  # more than one: decided when it runs (``GET_STATE``)
    params: frozenset[str]  # the transition method's keyword parameters

    @property
    def label(self) -> Any:
        return self.act.label

    @property
    def needs(self) -> tuple[Need, ...]:
        return self.act.needs

    @property
    def system_only(self) -> bool:
        return self.act.system_only

    @property
    def prepare(self) -> Effect | None:
        return self.act.prepare

    @property
    def after(self) -> Effect | None:
        return self.act.after

    @property
    def needs_input(self) -> bool:
        """True when some input is required (such an action cannot run in bulk)."""
        return any(need.required for need in self.act.needs)

    def describe(self) -> dict[str, Any]:
        """As the API lists it: name, label (active language), the names of the inputs it requires."""
        return {"name": self.name, "label": str(self.act.label), "needs": [n.name for n in self.needs if n.required]}


def act_of(transition: Any) -> Act:
    """The ``Act`` of a django-fsm transition, or a refusal naming the transition without one."""
    act = transition.custom
    if not isinstance(act, Act):
        raise ImproperlyConfigured(
            f"Transition {transition.name!r} ({transition.source} → {transition.target}) has no custom=Act(...): "
            "every transition is declared with its label and needs (tickets/workflows/acts.py)."
        )
    return act


def _roles(permission: Any) -> tuple[str, ...]:
    roles = getattr(permission, "roles", None) or ()
    return tuple(role for role in Role.values if role in roles)


def _read(kind: str) -> dict[str, Action]:
    model = model_for_kind(kind)
    grouped: dict[str, list[Any]] = {}
    for transition in model._meta.get_field("state").get_all_transitions(model):
        grouped.setdefault(transition.name, []).append(transition)
    found = {}
    for name, transitions in grouped.items():
        first = transitions[0]
        act = act_of(first)
        if any(act_of(t) is not act or t.permission is not first.permission for t in transitions):
            raise ImproperlyConfigured(f"{model.__name__}.{name} is declared twice with different metadata.")
        targets: list[str] = []
        for transition in transitions:
            target = transition.target
            for state in target.allowed_states if isinstance(target, State) else [target]:
                if str(state) not in targets:
                    targets.append(str(state))
        found[name] = Action(
            kind=kind,
            name=name,
            act=act,
            roles=_roles(first.permission),
            sources=tuple(str(t.source) for t in transitions),
            targets=tuple(targets),
            params=frozenset(list(inspect.signature(getattr(model, name)).parameters)[1:]),
        )
    return found


@functools.cache
def catalogue() -> dict[tuple[str, str], Action]:
    """Every declared action, by (kind, name): kinds in their usual order, names sorted."""
    found = {}
    for kind in ticket_models():
        for name, action in sorted(_read(str(kind)).items()):
            found[(str(kind), name)] = action
    _check_bulk(found.values())
    return found


def _check_bulk(actions: Any) -> None:
    texts: dict[str, Any] = {}
    for action in actions:
        if action.act.bulk is None:
            continue
        if action.needs_input or action.system_only:
            raise ImproperlyConfigured(f"{action.kind}.{action.name} needs input or is system-only: not in bulk.")
        if texts.setdefault(action.name, action.act.bulk) != action.act.bulk:
            raise ImproperlyConfigured(f"The kinds declare different bulk texts for '{action.name}'.")


def action_get(kind: str, name: str) -> Action | None:
    return catalogue().get((kind, name))


def actions_of(kind: str) -> Iterator[Action]:
    return (action for (k, _name), action in catalogue().items() if k == kind)


def offered() -> dict[tuple[str, str], Action]:
    """The actions people may run (through the API or the admin): every one but the system's own."""
    return {key: action for key, action in catalogue().items() if not action.system_only}


def bulk_actions() -> dict[str, Any]:
    """Transition name → the admin's bulk description, for the transitions declared with ``bulk=``."""
    found: dict[str, Any] = {}
    for action in catalogue().values():
        if action.act.bulk is not None:
            found.setdefault(action.name, action.act.bulk)
    return found


def available_actions(ticket: Ticket, actor: Actor) -> list[Action]:
    """The actions ``actor`` may run on ``ticket`` now (its state, the actor's role and the rules allow them);
    system-only ones are never offered."""
    found = []
    # django-fsm adds get_available_user_<field>_transitions per FSM field when the class is prepared.
    for transition in ticket.get_available_user_state_transitions(actor):  # type: ignore[attr-defined]
        action = action_get(ticket.kind, transition.name)
        if action is not None and not action.system_only:
            found.append(action)
    return found
