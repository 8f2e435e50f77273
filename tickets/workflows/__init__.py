"""The four kinds' state machines. Each module holds one kind's model subclass and its transitions.

This package's ``__init__`` imports nothing at load time (the base model imports ``states``); the helpers
below resolve the kinds lazily.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickets.models import Ticket


@functools.cache
def ticket_models() -> dict[str, type[Ticket]]:
    from tickets.workflows.complaint import ComplaintTicket
    from tickets.workflows.exchange import ExchangeTicket
    from tickets.workflows.logistics import LogisticsTicket
    from tickets.workflows.return_ import ReturnTicket

    return {m.KIND: m for m in (ReturnTicket, ExchangeTicket, ComplaintTicket, LogisticsTicket)}


def model_for_kind(kind: str) -> type[Ticket]:
    return ticket_models()[kind]


def model_for_number(number: str) -> type[Ticket] | None:
    """The kind of the ticket numbered ``number`` (its prefix, e.g. RT for returns), or None."""
    for model in ticket_models().values():
        if number.startswith(model.NUMBER_PREFIX):
            return model
    return None


def state_label(kind: str, state: str) -> str:
    """The state's label in the active language (the state's code if the kind has no such state)."""
    from django.utils.translation import get_language

    return _state_label(kind, state, get_language())


@functools.lru_cache(maxsize=1024)
def _state_label(kind: str, state: str, language: str | None) -> str:
    from kefu.core.vocabulary import STATES_BY_KIND

    try:
        return str(STATES_BY_KIND[kind](state).label)  # translated in ``language``, the active one
    except ValueError:
        return state
