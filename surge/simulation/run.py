"""A plan played: arrivals drawn, the day simulated with the real desk, and the staff needed searched for.

:func:`plan_simulate` is what the command and the admin page call. The search (:func:`staff_needed`) plays the
day again with more people until breaches are at or under the plan's ``breach_target``. Each round, every step
that breached asks for its handling minutes of work, shared among the hours from its arrival to its deadline in
which the plan staffs its department (the hour it came in when the plan staffs none of them; after the plan's
last day, the last day's same hour, whose people also work the hours after it); each department gets, per hour,
enough extra people for the work asked of that hour (at least one). Rounds add generously; once the target is
met, the smallest share of the extra people that still meets it is kept (bisection, :func:`_trim`). Staff is only
added, never taken away: what is reported is what the plan needs at least, given its own shifts' shape.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

from surge.simulation.desk import RealDesk
from surge.simulation.engine import Outcome, Route, arrivals_generate, simulate
from surge.simulation.plan import Plan

MAX_ROUNDS = 40
TRIM_ROUNDS = 5


@dataclass
class Simulation:
    plan: Plan
    outcome: Outcome  # with the plan's staff
    needed: dict[str, list[int]]  # staff per department and hour for breaches at or under the target
    needed_outcome: Outcome  # with that staff
    reached: bool  # False: the search stopped (MAX_ROUNDS) or some breaches cannot be avoided by staff
    rounds: int
    seconds: float
    arrivals: int


def routes_of(plan: Plan) -> list[Route]:
    routes = []
    for stream in plan.streams:
        path = plan.path_of(stream)
        waits = stream.wait_minutes or (0.0,) * (len(path) - 1)
        routes.append(Route(handling=[plan.handling_minutes(stream.kind, s) for s in path], waits=list(waits)))
    return routes


def _play(plan: Plan, desk: RealDesk, arrivals: list[tuple[float, int]], staff: dict[str, list[int]]) -> Outcome:
    return simulate(
        arrivals=arrivals,
        routes=routes_of(plan),
        staff=plan.staff_played(staff),
        hours=plan.hours + plan.after_hours,
        plan_hours=plan.hours,
        desk=desk,
    )


def _planned_hour(plan: Plan, hour: int) -> int:
    """The plan's hour whose staff works ``hour`` (after the plan: the last day's same hour, Plan.staff_played)."""
    if hour < plan.hours:
        return hour
    return plan.hours - 24 + (hour - plan.hours) % 24


def staff_needed(
    plan: Plan, desk: RealDesk, arrivals: list[tuple[float, int]], first: Outcome
) -> tuple[dict[str, list[int]], Outcome, bool, int]:
    """(staff per department and hour, the outcome with it, whether the target was reached, rounds played)."""
    staff = {code: list(values) for code, values in plan.staff.items()}
    outcome = first
    rounds = 0
    routes = routes_of(plan)
    while outcome.total_breaches > plan.breach_target and rounds < MAX_ROUNDS:
        rounds += 1
        work: dict[tuple[str, int], float] = defaultdict(float)
        for breach in outcome.breach_list:
            minutes = routes[breach.stream].handling[breach.step]
            if minutes > breach.due - breach.arrived:
                continue  # longer to handle than the time allowed: no one more helps
            people = staff.setdefault(breach.department, [0] * plan.hours)
            came, due = int(breach.arrived // 60), int(breach.due // 60)
            window = [_planned_hour(plan, h) for h in range(came, min(due, came + 48) + 1)]
            staffed = sorted({h for h in window if people[h] > 0}) or window[:1]
            for hour in staffed:
                work[(breach.department, hour)] += minutes / len(staffed)
        if not work:
            break
        for (code, hour), minutes in work.items():
            staff[code][hour] += max(1, math.ceil(minutes / 60))
        outcome = _play(plan, desk, arrivals, staff)
    reached = outcome.total_breaches <= plan.breach_target
    if reached and rounds:
        staff, outcome, trims = _trim(plan, desk, arrivals, staff, outcome)
        rounds += trims
    return staff, outcome, reached, rounds


def _trim(
    plan: Plan, desk: RealDesk, arrivals: list[tuple[float, int]], staff: dict[str, list[int]], outcome: Outcome
) -> tuple[dict[str, list[int]], Outcome, int]:
    """The rounds add generously (every breach asks as if nobody else's work were done sooner): keep the smallest
    share of the extra people (bisected in TRIM_ROUNDS plays) that still meets the target."""
    planned = {code: plan.staff.get(code, [0] * plan.hours) for code in staff}

    def scaled(share: float) -> dict[str, list[int]]:
        return {
            code: [p + math.ceil(share * (n - p)) for p, n in zip(planned[code], values, strict=True)]
            for code, values in staff.items()
        }

    low, high = 0.0, 1.0
    best, best_outcome = staff, outcome
    for _ in range(TRIM_ROUNDS):
        share = (low + high) / 2
        trial = scaled(share)
        played = _play(plan, desk, arrivals, trial)
        if played.total_breaches <= plan.breach_target:
            high, best, best_outcome = share, trial, played
        else:
            low = share
    return best, best_outcome, TRIM_ROUNDS


def plan_simulate(plan: Plan, *, search: bool = True) -> Simulation:
    """Play ``plan`` (reads routing's configuration and the plan's shops; writes nothing)."""
    began = time.perf_counter()
    desk = RealDesk(plan)
    hourly = [stream.hourly for stream in plan.streams]
    arrivals = arrivals_generate(hourly, mode=plan.arrivals, seed=plan.seed)
    staff = {code: list(values) for code, values in plan.staff.items()}
    outcome = _play(plan, desk, arrivals, staff)
    if search:
        needed, needed_outcome, reached, rounds = staff_needed(plan, desk, arrivals, outcome)
    else:
        needed, needed_outcome, reached, rounds = staff, outcome, outcome.total_breaches <= plan.breach_target, 0
    for code in outcome.departments:  # every department the work reached, staffed or not
        needed.setdefault(code, [0] * plan.hours)
    return Simulation(
        plan=plan,
        outcome=outcome,
        needed=needed,
        needed_outcome=needed_outcome,
        reached=reached,
        rounds=rounds,
        seconds=time.perf_counter() - began,
        arrivals=len(arrivals),
    )
