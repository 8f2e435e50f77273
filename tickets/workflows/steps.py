"""What each state of a kind means for routing and the clock: who acts, the default deadline, what then.

The ``STEPS`` table of each kind is the default from the SPEC; routing rules and deadline policies stored
in the database (issue 3) override owner and deadline per shop, channel and rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Generic, TypeVar

from django.conf import settings
from django.utils.translation import gettext

# The STEPS tables name these from here; they are declared with the rest of the vocabulary.
from kefu.core.vocabulary import BUYER as BUYER
from kefu.core.vocabulary import END as END
from kefu.core.vocabulary import ESCALATE as ESCALATE
from kefu.core.vocabulary import Step as Step
from tickets.actors import Actor, ActorKind, Role

if TYPE_CHECKING:
    from tickets.models.base import Ticket


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


class SecondPerson(Permission):
    """Maker-checker: ``roles`` may run it, except the user whose id the ticket holds in ``maker_field`` (the one
    who proposed what is being approved). ``refusal`` says so, for the engine's NotPermitted message."""

    def __init__(self, *roles: Role, maker_field: str) -> None:
        super().__init__(*roles)
        self.maker_field = maker_field

    def _is_maker(self, ticket: Ticket, actor: Actor) -> bool:
        maker_id = getattr(ticket, self.maker_field, None)
        return maker_id is not None and actor.user is not None and actor.user.pk == maker_id

    def __call__(self, ticket: Ticket, actor: Actor) -> bool:
        return super().__call__(ticket, actor) and not self._is_maker(ticket, actor)

    def refusal(self, ticket: Ticket, actor: Actor) -> str | None:
        """Why ``actor`` may not, when it is because they are the maker; None otherwise."""
        if isinstance(actor, Actor) and self._is_maker(ticket, actor):
            return gettext(
                "%(actor)s proposed this and cannot also approve it: another supervisor must approve ticket %(number)s."
            ) % {"actor": actor.name, "number": ticket.number}
        return None

    def __repr__(self) -> str:
        return f"by({', '.join(sorted(self.roles))}, not {self.maker_field})"


def by_second_person(*roles: Role, maker_field: str) -> SecondPerson:
    return SecondPerson(*roles, maker_field=maker_field)


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
