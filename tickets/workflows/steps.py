"""What each state of a kind means for routing and the clock: who acts, the default deadline, what then.

The ``STEPS`` table of each kind is the default from the SPEC; routing rules and deadline policies stored
in the database (issue 3) override owner and deadline per shop, channel and rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from django.conf import settings

from kefu.core.vocabulary import BUYER as BUYER  # the STEPS tables name it from here
from tickets.actors import Actor, ActorKind, Role

if TYPE_CHECKING:
    from tickets.models import Ticket

# ``on_due`` value meaning "the clock is an internal SLA: escalate" rather than a transition name.
ESCALATE = "escalate"


@dataclass(frozen=True)
class Step:
    """One state's routing and clock.

    ``owner`` is the department that must act (a ``Department`` value), ``"buyer"`` while waiting on the
    buyer, or ``""`` in an end state. ``on_due`` is the transition the system runs when ``deadline`` has
    passed (a platform timeout) or ``ESCALATE`` for an internal SLA.
    """

    owner: str
    deadline: timedelta | None = None
    on_due: str | None = None


END = Step(owner="")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def days(n: float) -> timedelta:
    return timedelta(days=n)


class Permission:
    """django-fsm ``permission=`` callable: may this actor run the transition on this ticket?

    django-fsm passes whatever the caller gives as "user"; kefu always passes an :class:`Actor`. A buyer may
    act only on their own tickets. ``roles`` is kept for the docs, the graph and the admin's buttons.
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(role.value for role in roles)

    def __call__(self, ticket: Ticket, actor: Actor) -> bool:
        if not isinstance(actor, Actor) or not actor.plays(self.roles):
            return False
        if actor.kind == ActorKind.BUYER:
            return actor.buyer is not None and actor.buyer.pk == ticket.buyer_id
        return True

    def __repr__(self) -> str:
        return f"by({', '.join(sorted(self.roles))})"


def by(*roles: Role) -> Permission:
    return Permission(*roles)


TicketT = TypeVar("TicketT", bound="Ticket")


class Rule(Generic[TicketT]):
    """django-fsm ``conditions=`` entry with the message shown when it does not hold."""

    def __init__(self, check: Callable[[TicketT], bool], message: Callable[[TicketT], str]) -> None:
        self.check = check
        self.message = message
        self.__name__ = getattr(check, "__name__", "rule")

    def __call__(self, ticket: TicketT) -> bool:
        return bool(self.check(ticket))


def complaint_max_reopens() -> int:
    return int(getattr(settings, "KEFU_COMPLAINT_MAX_REOPENS", 2))
