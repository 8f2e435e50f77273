"""The four kinds' state machines. Each module holds one kind's model subclass and its transitions.

This package's ``__init__`` imports nothing at load time (the base model imports ``states``); the helpers
below resolve the kinds lazily.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tickets.models.base import Ticket


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
