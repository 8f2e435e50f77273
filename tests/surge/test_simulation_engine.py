"""The simulation's core on small days worked out by hand: no database, a desk written here (one department, a
deadline a fixed time after the step starts)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from surge.simulation.engine import Route, arrivals_generate, simulate


class FixedDesk:
    """Every step to ``department`` (None: to nobody), due ``allowed`` minutes after it starts; remembers calls."""

    def __init__(self, allowed: float, department: str | None = "ops", by_step: dict[int, str] | None = None) -> None:
        self.allowed = allowed
        self.department = department
        self.by_step = by_step or {}
        self.calls: list[tuple[int, int, str | None, float]] = []

    def enter(self, stream: int, step: int, previous: str | None, at: float, backlog: Callable[[str], int]):
        self.calls.append((stream, step, previous, at))
        return self.by_step.get(step, self.department), at + self.allowed, 20


def one_step(minutes: float) -> list[Route]:
    return [Route(handling=[minutes], waits=[])]


def test_one_person_keeps_up_with_six_tickets_an_hour_at_ten_minutes_each():
    """Arrivals at 5, 15, …, 55; each done 10 minutes later: no wait, no breach; the last is in hand at 60."""
    arrivals = [(5.0 + 10 * i, 0) for i in range(6)]
    out = simulate(arrivals=arrivals, routes=one_step(10), staff={"ops": [1, 1]}, hours=2, desk=FixedDesk(30))

    assert out.arrivals == [6, 0]
    assert out.handled["ops"] == [5, 1]
    assert out.backlog["ops"] == [1, 0]
    assert out.total_breaches == 0 and out.open_at_end == 0 and out.finished == 6


def test_twelve_tickets_an_hour_for_one_person_breach_once_in_the_second_hour():
    """Arrivals every 5 minutes from 2.5 (12 in the hour), 10 minutes each, due 60 minutes after arrival: the i-th
    is done at 12.5 + 10 i, due at 62.5 + 5 i; only the last (i = 11: done 122.5, due 117.5) is late, its deadline
    passing in the second hour."""
    arrivals = [(2.5 + 5 * i, 0) for i in range(12)]
    out = simulate(arrivals=arrivals, routes=one_step(10), staff={"ops": [1, 1, 1]}, hours=3, desk=FixedDesk(60))

    assert out.handled["ops"] == [5, 6, 1]
    assert out.backlog["ops"] == [7, 1, 0]
    assert out.breaches["ops"] == [0, 1, 0]
    assert [(b.arrived, b.due) for b in out.breach_list] == [(57.5, 117.5)]


def test_two_people_halve_the_wait_and_nothing_breaches():
    arrivals = [(2.5 + 5 * i, 0) for i in range(12)]
    out = simulate(arrivals=arrivals, routes=one_step(10), staff={"ops": [2, 2, 2]}, hours=3, desk=FixedDesk(60))

    assert out.total_breaches == 0
    assert out.handled["ops"] == [10, 2, 0]  # nobody waits: each is done 10 minutes after it came, at 12.5 + 5 i


def test_the_queue_is_served_by_deadline_not_by_arrival():
    """One person busy until 10 with the first; then a relaxed ticket (arrived at 1, due in 100) waits behind an
    urgent one (arrived at 2, due at 27): the urgent one is taken at 10 and done at 20, the relaxed one after."""

    class TwoLanes(FixedDesk):
        def enter(self, stream, step, previous, at, backlog):
            return "ops", at + (25 if stream == 1 else 100), 20

    arrivals = [(0.0, 0), (1.0, 0), (2.0, 1)]
    routes = [Route(handling=[10], waits=[]), Route(handling=[10], waits=[])]
    out = simulate(arrivals=arrivals, routes=routes, staff={"ops": [1]}, hours=1, desk=TwoLanes(0))

    assert out.total_breaches == 0  # first come, first served would have done the urgent one at 30, past its 27
    assert out.handled["ops"] == [3]


def test_nobody_on_duty_means_the_queue_waits_for_the_next_hour():
    """Nobody in hour 0, one person from hour 1: three tickets of 10 minutes arriving in hour 0 are done at 70, 80
    and 90; due 40 minutes after arrival (at 40, 50, 60): all three breach, their deadlines passing in hour 0 and 1."""
    arrivals = [(0.0, 0), (10.0, 0), (20.0, 0)]
    out = simulate(arrivals=arrivals, routes=one_step(10), staff={"ops": [0, 1]}, hours=2, desk=FixedDesk(40))

    assert out.backlog["ops"] == [3, 0]
    assert out.handled["ops"] == [0, 3]
    assert out.breaches["ops"] == [2, 1]


def test_a_department_the_plan_does_not_staff_keeps_everything_and_breaches_what_falls_due():
    arrivals = [(0.0, 0), (30.0, 0)]
    out = simulate(arrivals=arrivals, routes=one_step(5), staff={}, hours=1, desk=FixedDesk(45))

    assert out.departments == ["ops"]
    assert out.backlog["ops"] == [2]
    assert out.breaches["ops"] == [1]  # due at 45; the other is due at 75, after the day
    assert out.open_at_end == 2


def test_steps_walk_the_path_through_departments_with_the_wait_between():
    """Step 0 in ops (5 min), 30 minutes outside the desk, step 1 in the warehouse (5 min)."""
    desk = FixedDesk(60, by_step={0: "ops", 1: "warehouse"})
    routes = [Route(handling=[5, 5], waits=[30])]
    out = simulate(arrivals=[(0.0, 0)], routes=routes, staff={"ops": [1], "warehouse": [1]}, hours=1, desk=desk)

    assert desk.calls == [(0, 0, None, 0.0), (0, 1, "ops", 35.0)]
    assert out.entered == {"ops": [1], "warehouse": [1]}
    assert out.finished == 1


def test_a_step_routed_to_nobody_is_skipped():
    desk = FixedDesk(60, by_step={0: None, 1: "ops"})
    out = simulate(
        arrivals=[(0.0, 0)], routes=[Route(handling=[5, 5], waits=[0])], staff={"ops": [1]}, hours=1, desk=desk
    )

    assert out.handled["ops"] == [1] and out.finished == 1


def test_the_hours_after_the_plan_finish_its_tickets_and_count_their_breaches_apart():
    """One hour planned (nobody on duty), two more to finish: the ticket is done in the third hour, after its due."""
    out = simulate(
        arrivals=[(10.0, 0), (70.0, 0)],  # the second arrives after the plan: not played
        routes=one_step(10),
        staff={"ops": [0, 0, 1]},
        hours=3,
        plan_hours=1,
        desk=FixedDesk(60),
    )

    assert out.arrivals[:1] == [1] and sum(out.arrivals) == 1
    assert out.handled["ops"] == [0, 0, 1]
    assert out.breaches_after == 1 and out.department_breaches("ops") == 0


def test_even_arrivals_carry_fractions_between_hours():
    found = arrivals_generate([[2.5, 2.5, 2.5, 2.5]], mode="even", seed=0)
    per_hour = [sum(1 for at, _ in found if h * 60 <= at < (h + 1) * 60) for h in range(4)]

    assert per_hour == [2, 3, 2, 3]
    assert [at for at, _ in found[:2]] == [15.0, 45.0]


def test_poisson_arrivals_are_seeded_and_near_the_expected_count():
    first = arrivals_generate([[600] * 24], mode="poisson", seed=7)
    again = arrivals_generate([[600] * 24], mode="poisson", seed=7)
    other = arrivals_generate([[600] * 24], mode="poisson", seed=8)

    assert first == again and first != other
    assert 14_000 < len(first) < 14_800  # 14,400 expected; a standard deviation is 120
    assert all(a <= b for (a, _), (b, _) in zip(first, first[1:], strict=False))


def test_at_the_same_deadline_the_higher_priority_goes_first():
    """Two tickets due at minute 25 wait behind a first one (busy until 10): the urgent-priority one, arrived last,
    is taken first (done at 20), as the desk's queue sorts (deadline, then priority); the normal one is done at 30,
    late. First come, first served would have made the urgent one late instead."""

    class SameDue(FixedDesk):
        def enter(self, stream, step, previous, at, backlog):
            return "ops", 25.0 if at else 100.0, 40 if stream == 1 else 20

    arrivals = [(0.0, 0), (1.0, 0), (2.0, 1)]
    routes = [Route(handling=[10], waits=[]), Route(handling=[10], waits=[])]
    out = simulate(arrivals=arrivals, routes=routes, staff={"ops": [1]}, hours=1, desk=SameDue(0))

    assert [(b.stream, b.arrived) for b in out.breach_list] == [(0, 1.0)]
    assert out.handled["ops"] == [3]


@pytest.mark.parametrize("mode", ["even", "poisson"])
def test_no_arrivals_where_none_are_expected(mode):
    assert arrivals_generate([[0, 0, 5]], mode=mode, seed=1)[0][0] >= 120
