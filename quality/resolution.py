"""Which end of a ticket is a resolution: the states that end it with the buyer's request dealt with.

Per kind (tickets.workflows): a return ``refunded``; an exchange ``completed`` (the replacement arrived); a
complaint ``closed`` (accepted, expired, or dismissed: a reopen may follow, the survey is still asked once); a
logistics case ``closed`` after its resolution was confirmed or expired. A cancellation (the buyer withdrew) and a
return or exchange closed after a rejection are not resolutions: no satisfaction request.
"""

from __future__ import annotations

from kefu.core.vocabulary import ComplaintState, ExchangeState, Kind, LogisticsState, ReturnState

RESOLVED_STATES: dict[str, frozenset[str]] = {
    Kind.RETURN: frozenset({ReturnState.REFUNDED}),
    Kind.EXCHANGE: frozenset({ExchangeState.COMPLETED}),
    Kind.COMPLAINT: frozenset({ComplaintState.CLOSED}),
    Kind.LOGISTICS: frozenset({LogisticsState.CLOSED}),
}


def is_resolution(kind: str, state: str) -> bool:
    return state in RESOLVED_STATES.get(kind, frozenset())
