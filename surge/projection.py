"""Where a department's queue is heading: which of its open tickets will not be reached before their deadline.

Pure arithmetic over plain numbers (no Django, no database): surge.selectors reads the figures, surge.services
decides what to do with the answer. The model is the queue as the desk serves it, earliest deadline first
(the queue's order: step deadline, then priority, ``desk.admin.tickets.TicketAdmin.ordering``):

- the department works off ``handled_per_hour`` tickets per hour of work (its recent throughput), only in the
  minutes it is open (``open_minutes``: its business-hours calendar; always without one); capacity is not
  saved up while the queue is empty;
- tickets keep arriving at ``arrivals_per_hour`` (every hour, open or not), each with ``new_step_hours`` to
  its deadline (the time recent arrivals were given); they join the queue in deadline order;
- a ticket still waiting at its deadline breaches: the deadline sweep then escalates it to supervisors, so it
  leaves the queue and takes no more capacity.

The queue is played forward a minute at a time over ``horizon_hours``. Fractions of a ticket carry over from
minute to minute, so 1.5 tickets per hour serve three tickets in two hours.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

MINUTES_PER_HOUR = 60
EPSILON = 1e-6
ARRIVAL = -1  # the index of a ticket that has not arrived yet (not one of the open tickets)


@dataclass(frozen=True)
class Projection:
    """What playing the queue forward found.

    ``at_risk``: the indexes (into the ``deadlines`` given) of the open tickets projected to breach within the
    horizon, in the order they breach, each with its hours from now in ``at_risk_hours``; ``arrivals_at_risk``:
    tickets not arrived yet that would breach within the horizon too, the first of them after
    ``first_arrival_breach`` hours. ``backlog_end``: tickets waiting at the horizon's end.
    """

    at_risk: tuple[int, ...]
    at_risk_hours: tuple[float, ...]
    arrivals_at_risk: int
    first_arrival_breach: float | None
    served: int
    backlog_end: int
    horizon_hours: float

    @property
    def breaches(self) -> int:
        return len(self.at_risk) + self.arrivals_at_risk

    @property
    def hours_to_first_breach(self) -> float | None:
        found = [
            *self.at_risk_hours[:1],
            *([self.first_arrival_breach] if self.first_arrival_breach is not None else []),
        ]
        return min(found) if found else None


def project(
    *,
    deadlines: Sequence[float],
    arrivals_per_hour: float,
    handled_per_hour: float,
    horizon_hours: float,
    new_step_hours: float | None = None,
    open_minutes: Sequence[bool] | None = None,
) -> Projection:
    """Play the queue forward ``horizon_hours`` and return which tickets breach.

    ``deadlines``: hours from now until each open ticket's step deadline, in the queue's order (a tie keeps that
    order: the higher priority first); a deadline at or before 0 breaches at once unless served in the first
    minute. ``new_step_hours`` None: arrivals are left out (their deadlines are unknown), which only ever
    projects fewer breaches, never other ones: arrivals due later than every open ticket come after them.
    ``open_minutes``: per minute of the horizon, whether the department works (missing minutes: it does).
    """
    if handled_per_hour < 0 or arrivals_per_hour < 0 or horizon_hours < 0:
        raise ValueError("rates and the horizon cannot be negative")
    minutes = math.ceil(horizon_hours * MINUTES_PER_HOUR)
    # (deadline in hours, arrival order, index): earliest deadline first, ties in the order given / arrived.
    queue: list[tuple[float, int, int]] = [(due, order, order) for order, due in enumerate(deadlines)]
    heapq.heapify(queue)
    sequence = len(deadlines)
    # Counted in ticket-minutes (a ticket is MINUTES_PER_HOUR of them): whole rates add up exactly.
    arriving = arrivals_per_hour if new_step_hours is not None else 0.0
    allowed = new_step_hours or 0.0
    serving = handled_per_hour
    whole = MINUTES_PER_HOUR - EPSILON
    arrived = capacity = 0.0
    at_risk: list[int] = []
    at_risk_hours: list[float] = []
    first_arrival_breach: float | None = None
    arrivals_at_risk = served = 0
    for minute in range(minutes):
        now = minute / MINUTES_PER_HOUR
        end = min((minute + 1) / MINUTES_PER_HOUR, horizon_hours)
        arrived += arriving
        while arrived >= whole:
            arrived -= MINUTES_PER_HOUR
            heapq.heappush(queue, (now + allowed, sequence, ARRIVAL))
            sequence += 1
        if open_minutes is None or minute >= len(open_minutes) or open_minutes[minute]:
            capacity += serving
            while capacity >= whole and queue:
                heapq.heappop(queue)
                capacity -= MINUTES_PER_HOUR
                served += 1
            if not queue:
                capacity = min(capacity, float(MINUTES_PER_HOUR))  # an idle team does not save up work for later
        while queue and queue[0][0] <= end:
            due, _order, index = heapq.heappop(queue)
            if index == ARRIVAL:
                arrivals_at_risk += 1
                if first_arrival_breach is None:
                    first_arrival_breach = due
            else:
                at_risk.append(index)
                at_risk_hours.append(max(due, 0.0))
    return Projection(
        at_risk=tuple(at_risk),
        at_risk_hours=tuple(at_risk_hours),
        arrivals_at_risk=arrivals_at_risk,
        first_arrival_breach=first_arrival_breach,
        served=served,
        backlog_end=len(queue),
        horizon_hours=horizon_hours,
    )
