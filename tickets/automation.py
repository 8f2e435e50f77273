"""May the system act on a ticket by itself? The guards other apps register, consulted before automation.

The deadline sweep's automatic transitions (``approve`` after 48 h, ``auto_refund`` of an unconfirmed return) and
any rule that decides on its own (the risk app's fast refunds) ask ``automation_refusal`` first. A guard answers
``None`` (go ahead) or a ``Refusal`` naming why, with the reason's code and parameters for the timeline
(tickets.wording). When one refuses, the caller hands the ticket to people instead: the sweep escalates it to the
supervisors with the refusal as the reason.

The ticket core knows no guard: apps register theirs in ``AppConfig.ready()`` (the risk app refuses for flagged
buyers), so tickets never imports them. A guard runs inside the caller's transaction, with the ticket's row
locked: it may read the database, never do network I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tickets.models import Ticket


@dataclass(frozen=True)
class Refusal:
    """Why automation may not act: ``reason`` in the site's language, ``payload`` its code and parameters."""

    reason: str
    payload: Mapping[str, Any] = field(default_factory=dict)


AutomationGuard = Callable[[Ticket, str], Refusal | None]

_guards: dict[str, AutomationGuard] = {}


def automation_guard_register(name: str, guard: AutomationGuard) -> None:
    """Register ``guard`` under ``name`` (registering a name again replaces it: ``ready()`` may run twice)."""
    _guards[name] = guard


def automation_guard_unregister(name: str) -> None:
    _guards.pop(name, None)


def automation_refusal(*, ticket: Ticket, action: str) -> Refusal | None:
    """The first guard's refusal of the system running ``action`` on ``ticket`` by itself, else None."""
    for guard in list(_guards.values()):
        refusal = guard(ticket, action)
        if refusal is not None:
            return refusal
    return None
