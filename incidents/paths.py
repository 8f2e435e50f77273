"""Which declared transitions an incident runs on its tickets: for a buyer's answer, and when it is closed.

Nothing here is a transition of its own: each step is the name of a transition declared on the ticket's kind
(tickets/workflows/<kind>.py) and run through ``ticket_act``, so the state machine still checks its source, its
actor and its rules, the timeline records it and the buyer is notified as for any other change.
tests/incidents/test_paths.py walks every path against the declarations (``tickets.actions``).

- ``ANSWER_PATHS[(kind, offer)]``: from the states a buyer may still choose in, the steps that carry the choice
  out. A logistics case still ``reported`` is first investigated (the incident is the investigation).
- ``CLOSING_PATHS[(kind, state)]``: what "close" means for a ticket left in that state when the incident closes.
  A delayed parcel the buyer did not answer for was delivered after all (found, then resolved: the buyer confirms
  or the system closes it at the end of the buyer's step); an exchange the incident opened and nobody took up is
  rejected with the closing message (the buyer may still answer it, else it expires). States with money or goods
  under way (a compensation under review or being paid, a refund being paid, a reshipment or a return on its way)
  are left to finish through their own steps: closing never cuts them short.
"""

from __future__ import annotations

from dataclasses import dataclass

from incidents.models import IncidentOffer
from kefu.core.vocabulary import ExchangeState, Kind, LogisticsState

# Who runs a step: the incident's supervisor (who declared the offer or closes the incident), or the buyer (a
# step only the buyer may take, e.g. withdrawing the exchange they were offered in favour of a refund).
STAFF = "staff"
BUYER = "buyer"


@dataclass(frozen=True)
class Step:
    action: str
    by: str = STAFF


@dataclass(frozen=True)
class AnswerPath:
    """The steps of one answer from ``sources``; ``linked_refund``: then a refund-only return for the ticket's
    lines (``origin`` = the ticket), approved by the system at once, as a declared ``LinkedRefund`` does."""

    sources: frozenset[str]
    steps: tuple[Step, ...]
    linked_refund: bool = False


_STILL_OPEN = frozenset({LogisticsState.REPORTED, LogisticsState.INVESTIGATING})
_INVESTIGATE = Step("investigate")

ANSWER_PATHS: dict[tuple[str, str], AnswerPath] = {
    # Wait: the compensation the incident offers, through the declared compensate (the shop's cap, the order's
    # room, maker-checker above the approval threshold), then paid (incidents.answers).
    (Kind.LOGISTICS, IncidentOffer.WAIT): AnswerPath(_STILL_OPEN, (_INVESTIGATE, Step("compensate"))),
    # Exchange: the warehouse sends the alternative SKU (a reshipment; the reason names the SKU).
    (Kind.LOGISTICS, IncidentOffer.EXCHANGE): AnswerPath(_STILL_OPEN, (_INVESTIGATE, Step("reship"))),
    # Refund: the declared refund opens the linked refund-only return (the existing refund lifecycle).
    (Kind.LOGISTICS, IncidentOffer.REFUND): AnswerPath(_STILL_OPEN, (_INVESTIGATE, Step("refund"))),
    (Kind.EXCHANGE, IncidentOffer.EXCHANGE): AnswerPath(frozenset({ExchangeState.REQUESTED}), (Step("approve"),)),
    (Kind.EXCHANGE, IncidentOffer.REFUND): AnswerPath(
        frozenset({ExchangeState.REQUESTED}), (Step("cancel", by=BUYER),), linked_refund=True
    ),
}

CLOSING_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    (Kind.LOGISTICS, LogisticsState.REPORTED): ("investigate", "mark_found", "resolve"),
    (Kind.LOGISTICS, LogisticsState.INVESTIGATING): ("mark_found", "resolve"),
    (Kind.LOGISTICS, LogisticsState.FOUND): ("resolve",),
    (Kind.LOGISTICS, LogisticsState.RESHIPPED): ("resolve",),
    (Kind.EXCHANGE, ExchangeState.REQUESTED): ("reject",),
}


def answer_path(kind: str, state: str, offer: str) -> AnswerPath | None:
    """The path of ``offer`` for a ticket of ``kind`` in ``state``, or None when it cannot be taken from there."""
    path = ANSWER_PATHS.get((kind, offer))
    if path is None or state not in path.sources:
        return None
    return path


def answer_steps(path: AnswerPath, state: str) -> tuple[Step, ...]:
    """The steps left from ``state`` (a case already investigated skips the investigation)."""
    steps = path.steps
    if steps and steps[0] == _INVESTIGATE and state != LogisticsState.REPORTED:
        return steps[1:]
    return steps


def offers_open(offers: list[str], kind: str, state: str) -> list[str]:
    """The incident's offers this ticket can still take, in the incident's order."""
    return [offer for offer in offers if answer_path(kind, state, offer) is not None]
