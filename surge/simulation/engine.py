"""The day played forward: a discrete-event simulation in minutes, pure Python, no database.

Each arrival is a ticket of a stream; it walks its stream's path of steps. Entering a step, the :class:`Desk`
(surge.simulation.desk: the real routing and deadline code) says which department holds it and when the step is
due; the ticket then waits in that department's queue, served by urgency (earliest deadline first, then first
come, as the desk's queue sorts), by one of the people the plan puts in that department in that hour, who spends
the step's handling minutes on it. People finish what they started when their hour ends; a department with fewer
people than tickets in hand starts nothing new until one is done. A step routed to nobody (a buyer's step) is
skipped.

A step is **breached** when it is not done by its deadline; the breach counts in the hour the deadline passes
(as the deadline sweep marks it), within the plan's hours. **Backlog** is what a department holds at the end of an
hour (waiting and in hand).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

Backlog = Callable[[str], int]


class Desk(Protocol):
    def enter(
        self, stream: int, step: int, previous: str | None, at: float, backlog: Backlog
    ) -> tuple[str | None, float | None, int]:
        """(department, deadline in minutes from the plan's start (None: no deadline), priority) of step ``step``
        of a ticket of ``stream`` entered at minute ``at``, coming from department ``previous``. ``backlog`` is the
        number of tickets waiting unassigned in a department's queue (what routing's overflow compares)."""
        ...


@dataclass(frozen=True)
class Route:
    """One stream's steps as the engine needs them."""

    handling: Sequence[float]  # minutes per step
    waits: Sequence[float]  # minutes outside the desk before steps 2…n


@dataclass
class Breach:
    stream: int
    step: int
    department: str
    arrived: float  # minute the step entered the department's queue
    due: float


@dataclass
class Outcome:
    hours: int  # played: the plan's and those after it
    plan_hours: int
    departments: list[str]
    arrivals: list[int]  # tickets opened per hour
    entered: dict[str, list[int]]  # steps entering each department's queue per hour
    handled: dict[str, list[int]]  # steps done per department per hour
    backlog: dict[str, list[int]]  # held at each hour's end
    breaches: dict[str, list[int]]  # per department, in the hour the deadline passed
    breach_list: list[Breach] = field(default_factory=list)
    open_at_end: int = 0
    finished: int = 0  # tickets through their whole path

    @property
    def breaches_per_hour(self) -> list[int]:
        return [sum(b[h] for b in self.breaches.values()) for h in range(self.hours)]

    @property
    def total_breaches(self) -> int:
        """Breaches of the plan's tickets, during the plan and after it."""
        return sum(sum(b) for b in self.breaches.values())

    @property
    def breaches_after(self) -> int:
        return sum(sum(b[self.plan_hours :]) for b in self.breaches.values())

    def department_breaches(self, code: str, *, after: bool = False) -> int:
        found = self.breaches[code]
        return sum(found[self.plan_hours :] if after else found[: self.plan_hours])


def arrivals_generate(hourly: Sequence[Sequence[float]], *, mode: str, seed: int) -> list[tuple[float, int]]:
    """(minute, stream) of every ticket opened, in time order, from each stream's expected count per hour.

    ``poisson``: a Poisson process in each hour (exponential gaps at the hour's rate, seeded): counts vary as real
    ones do. ``even``: the expected counts, rounded so that the totals carry over between hours, spread evenly
    within each hour (the middle of equal slices): the same every time, what a hand calculation assumes.
    """
    rng = random.Random(seed)  # noqa: S311 - arrivals to plan with, not a secret
    found: list[tuple[float, int]] = []
    for index, expected in enumerate(hourly):
        carried = 0.0
        for hour, rate in enumerate(expected):
            start = hour * 60.0
            if mode == "even":
                carried += rate
                count = int(carried + 1e-9)
                carried -= count
                found.extend((start + (i + 0.5) * 60.0 / count, index) for i in range(count))
            elif rate > 0:
                at = start + rng.expovariate(rate / 60.0)
                while at < start + 60.0:
                    found.append((at, index))
                    at += rng.expovariate(rate / 60.0)
    found.sort()
    return found


# Event kinds, in the order they are handled at the same minute: a person done frees a place before the hour
# change and new arrivals are considered.
_DONE, _SHIFT, _ENTER = 0, 1, 2


def simulate(
    *,
    arrivals: Sequence[tuple[float, int]],
    routes: Sequence[Route],
    staff: Mapping[str, Sequence[int]],
    hours: int,
    desk: Desk,
    plan_hours: int | None = None,
) -> Outcome:
    """Play ``hours`` hours. ``staff``: department → people in each hour (a department missing has nobody).

    Arrivals after ``plan_hours`` (default: all hours) are not played: the hours after are for finishing.
    """
    plan_hours = hours if plan_hours is None else plan_hours
    horizon = hours * 60.0
    departments = list(staff)
    # (due, -priority, seq, stream, step, arrived): the desk's queue order (deadline, then priority, then first come)
    queues: dict[str, list[tuple[float, int, int, int, int, float]]] = {}
    busy: dict[str, int] = {}
    held: dict[str, int] = {}

    def known(code: str) -> None:
        if code not in queues:
            queues[code] = []
            busy[code] = held[code] = 0
            if code not in outcome.handled:
                departments.append(code)
                for table in (outcome.entered, outcome.handled, outcome.backlog, outcome.breaches):
                    table[code] = [0] * hours

    outcome = Outcome(
        hours=hours,
        plan_hours=plan_hours,
        departments=departments,
        arrivals=[0] * hours,
        entered={c: [0] * hours for c in departments},
        handled={c: [0] * hours for c in departments},
        backlog={c: [0] * hours for c in departments},
        breaches={c: [0] * hours for c in departments},
    )
    for code in list(departments):
        known(code)

    def waiting(code: str) -> int:
        found = queues.get(code)
        return len(found) if found is not None else 0

    events: list[tuple[float, int, int, tuple]] = []
    seq = 0
    pending = 0  # steps on their way to a queue (ENTER events not played yet)
    for at, stream in arrivals:
        if at < plan_hours * 60.0:
            outcome.arrivals[int(at // 60)] += 1
            events.append((at, _ENTER, seq, (stream, 0, None)))
            seq += 1
            pending += 1
    events.extend((h * 60.0, _SHIFT, -1, ()) for h in range(1, hours))
    heapq.heapify(events)

    def breach(code: str, stream: int, step: int, arrived: float, due: float) -> None:
        if due < horizon:
            outcome.breaches[code][int(due // 60)] += 1
            outcome.breach_list.append(Breach(stream, step, code, arrived, due))

    def start_work(code: str, now: float) -> None:
        nonlocal seq
        hour = min(int(now // 60), hours - 1)
        people = staff.get(code)
        places = people[hour] if people is not None else 0
        queue = queues[code]
        while queue and busy[code] < places:
            due, _priority, _seq, stream, step, arrived = heapq.heappop(queue)
            busy[code] += 1
            done = now + routes[stream].handling[step]
            heapq.heappush(events, (done, _DONE, seq, (code, stream, step, arrived, due)))
            seq += 1

    def enter(now: float, stream: int, step: int, previous: str | None) -> None:
        nonlocal seq
        route = routes[stream]
        while step < len(route.handling):
            code, due, priority = desk.enter(stream, step, previous, now, waiting)
            if code is not None:
                known(code)
                outcome.entered[code][int(now // 60)] += 1
                held[code] += 1
                entry = (due if due is not None else float("inf"), -priority, seq, stream, step, now)
                heapq.heappush(queues[code], entry)
                seq += 1
                start_work(code, now)
                return
            step += 1  # nobody at the desk holds this step (the buyer's): on to the next
        outcome.finished += 1

    hour_end = 60.0
    hour = 0
    while events:
        at, what, _seq, payload = events[0]
        if at >= horizon or (what == _SHIFT and at >= plan_hours * 60.0 and not pending and not any(held.values())):
            break  # the end, or after the plan's hours with nothing left to do
        while at >= hour_end:  # close the hours before this event
            for code in departments:
                outcome.backlog[code][hour] = held[code]
            hour += 1
            hour_end += 60.0
        heapq.heappop(events)
        if what == _ENTER:
            pending -= 1
            stream, step, previous = payload
            enter(at, stream, step, previous)
        elif what == _DONE:
            code, stream, step, arrived, due = payload
            busy[code] -= 1
            held[code] -= 1
            outcome.handled[code][hour] += 1
            if at > due:
                breach(code, stream, step, arrived, due)
            start_work(code, at)
            if step + 1 < len(routes[stream].handling):
                wait = routes[stream].waits[step]
                heapq.heappush(events, (at + wait, _ENTER, seq, (stream, step + 1, code)))
                seq += 1
                pending += 1
            else:
                outcome.finished += 1
        else:
            for code in departments:
                start_work(code, at)
    while hour < hours:
        for code in departments:
            outcome.backlog[code][hour] = held[code]
        hour += 1
    # What is still open at the end: in hand (its DONE event after the end) or waiting; overdue ones breached.
    for at, what, _seq, payload in events:
        if what == _DONE:
            code, stream, step, arrived, due = payload
            outcome.open_at_end += 1
            if at > due:
                breach(code, stream, step, arrived, due)
    for code, queue in queues.items():
        for due, _priority, _seq, stream, step, arrived in queue:
            outcome.open_at_end += 1
            breach(code, stream, step, arrived, due)
    return outcome
