"""Business-time arithmetic (kefu.core.business_hours) and China's holidays (kefu.core.china_holidays).

Examples a supervisor can check on a wall calendar (an office open 09:00–12:00 and 13:30–18:00 on weekdays, in
Shanghai, with China's 2026 holidays), then properties over random instants, time zones, schedules and
durations: adding is monotonic and additive, counting undoes adding, closed days count nothing, and the time zone
an instant is given in changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.core import china_holidays
from kefu.core.business_hours import (
    HOLIDAY,
    WORKDAY,
    NeverOpen,
    Schedule,
    add,
    add_working_days,
    between,
    deadline,
    is_open,
)
from kefu.core.china_holidays import china_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
H = timedelta(hours=1)
OFFICE_DAY = ((time(9), time(12)), (time(13, 30), time(18)))
OFFICE = Schedule(zone=SHANGHAI, week=(OFFICE_DAY,) * 5 + ((), ()), holidays=china_day)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# -- examples --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2026, 12, 7, 10), 1, at(2026, 12, 7, 11)),  # Monday, inside the morning
        (at(2026, 12, 7, 11, 30), 1, at(2026, 12, 7, 14)),  # over lunch
        (at(2026, 12, 7, 7), 1, at(2026, 12, 7, 10)),  # before opening: counts from 09:00
        (at(2026, 12, 7, 12, 30), 1, at(2026, 12, 7, 14, 30)),  # in the lunch break
        (at(2026, 12, 4, 17), 1, at(2026, 12, 4, 18)),  # ends exactly at closing: Friday 18:00, not Monday
        (at(2026, 12, 4, 17), 4, at(2026, 12, 7, 12)),  # Friday 17:00 + 4 h: Monday noon
        (at(2026, 12, 4, 19), 1, at(2026, 12, 7, 10)),  # after closing
        (at(2026, 12, 5, 10), 1, at(2026, 12, 7, 10)),  # a Saturday
        (at(2026, 9, 30, 17), 4, at(2026, 10, 8, 12)),  # 国庆: closed 1–7 October
        (at(2026, 10, 9, 17), 4, at(2026, 10, 10, 12)),  # Saturday 10 October is a make-up workday (调休)
        (at(2026, 9, 18, 17), 4, at(2026, 9, 20, 12)),  # so is Sunday 20 September
        (at(2026, 2, 13, 17), 4, at(2026, 2, 14, 12)),  # Saturday 14 Feb works; the Spring Festival follows
        (at(2026, 2, 14, 17), 4, at(2026, 2, 24, 12)),  # … closed 15–23 February
    ],
)
def test_adding_business_hours_lands_where_the_office_calendar_says(start: datetime, hours: int, due: datetime) -> None:
    assert add(OFFICE, start, hours * H) == due
    assert between(OFFICE, start, due) == hours * H


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (at(2026, 12, 4, 17), 1, at(2026, 12, 7, 17)),  # Friday 17:00 + 1 working day: Monday 17:00
        (at(2026, 12, 4, 9), 1, at(2026, 12, 4, 18)),  # a whole day from the opening ends at closing
        (at(2026, 12, 5, 10), 1, at(2026, 12, 7, 18)),  # from a Saturday: Monday, the whole day
        (at(2026, 12, 7, 19), 2, at(2026, 12, 9, 18)),  # after closing: counts from Tuesday's opening
        (at(2026, 12, 7, 9), 1.5, at(2026, 12, 8, 14, 15)),  # one and a half: Tuesday, half its 7.5 hours
        (at(2026, 9, 30, 17), 2, at(2026, 10, 9, 17)),  # over 国庆
        (at(2026, 12, 4, 17), 7, at(2026, 12, 15, 17)),  # a week of working days is nine calendar days here
    ],
)
def test_a_day_or_more_counts_working_days(start: datetime, days: float, due: datetime) -> None:
    assert deadline(OFFICE, start, days * 24 * H) == due


def test_under_a_day_deadline_counts_business_hours() -> None:
    assert deadline(OFFICE, at(2026, 12, 4, 17), 4 * H) == at(2026, 12, 7, 12)


def test_a_calendars_own_days_win_over_chinas() -> None:
    schedule = Schedule(
        zone=SHANGHAI,
        week=OFFICE.week,
        holidays=china_day,
        closed=frozenset({date(2026, 12, 7)}),  # a company day off on a Monday
        opened=frozenset({date(2026, 10, 2), date(2026, 12, 12)}),  # open during 国庆, and a Saturday
    )
    assert add(schedule, at(2026, 12, 4, 17), 4 * H) == at(2026, 12, 8, 12)
    assert add(schedule, at(2026, 10, 1, 0), 1 * H) == at(2026, 10, 2, 10)
    assert add(schedule, at(2026, 12, 11, 17), 2 * H) == at(2026, 12, 12, 10)  # the Saturday has Monday's hours


def test_a_make_up_workday_opens_with_the_chosen_weekdays_hours() -> None:
    short_friday = (*OFFICE.week[:4], ((time(9), time(12)),), (), ())
    schedule = Schedule(zone=SHANGHAI, week=short_friday, holidays=china_day, makeup_weekday=4)
    assert add(schedule, at(2026, 10, 10, 11), 2 * H) == at(2026, 10, 12, 10)  # Saturday closes at 12:00


def test_a_weekend_shift_is_closed_on_a_public_holiday() -> None:
    daily = Schedule(zone=SHANGHAI, week=(((time(10), time(16)),),) * 7, holidays=china_day)
    assert add(daily, at(2026, 10, 3, 10), 1 * H) == at(2026, 10, 8, 11)  # Saturday 3 Oct is in 国庆
    assert add(daily, at(2026, 12, 5, 10), 1 * H) == at(2026, 12, 5, 11)  # an ordinary Saturday works


def test_open_until_midnight() -> None:
    evenings = Schedule(zone=SHANGHAI, week=(((time(18), time.max),),) * 7)
    assert add(evenings, at(2026, 12, 7, 23), 2 * H) == at(2026, 12, 8, 19)
    assert is_open(evenings, at(2026, 12, 7, 23, 59))
    assert not is_open(evenings, at(2026, 12, 8, 0))


def test_china_holidays_from_chinesecalendar() -> None:
    assert china_day(date(2026, 10, 1)) == HOLIDAY
    assert china_day(date(2026, 10, 10)) == WORKDAY
    assert china_day(date(2026, 12, 7)) is None
    assert china_holidays.covers(2026)


def test_a_year_chinesecalendar_does_not_know_counts_plain_weekdays_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    year = china_holidays.LAST_YEAR + 1
    china_holidays._warned.discard(year)
    new_years_day = date(year, 1, 1)
    with caplog.at_level(logging.WARNING, logger="kefu.core.china_holidays"):
        assert china_day(new_years_day) is None
        assert china_day(new_years_day + timedelta(days=1)) is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once per year and process
    assert f"no holidays for {year}" in warnings[0]
    monday = next(
        new_years_day + timedelta(days=n) for n in range(7) if (new_years_day + timedelta(days=n)).weekday() == 0
    )
    start = datetime.combine(monday, time(9), tzinfo=SHANGHAI)
    assert add(OFFICE, start, 1 * H) == start + 1 * H  # an ordinary Monday


def test_a_schedule_never_open_gives_no_deadline() -> None:
    never = Schedule(zone=SHANGHAI, week=((),) * 7)
    with pytest.raises(NeverOpen):
        add(never, at(2026, 12, 7), H)
    assert between(never, at(2026, 12, 7), at(2026, 12, 17)) == timedelta(0)


def test_bad_schedules_and_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="ordered"):
        Schedule(zone=SHANGHAI, week=(((time(12), time(9)),),) + ((),) * 6)
    with pytest.raises(ValueError, match="7 days"):
        Schedule(zone=SHANGHAI, week=((),))
    with pytest.raises(ValueError, match="zero or more"):
        add(OFFICE, at(2026, 12, 7), -H)
    with pytest.raises(ValueError, match="aware"):
        add(OFFICE, datetime(2026, 12, 7), H)  # noqa: DTZ001 - the point of the test


# -- properties -------------------------------------------------------------------------------------------------

ZONES = [UTC, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), ZoneInfo("Pacific/Chatham")]
instants = st.builds(
    lambda seconds, zone: (datetime(2025, 12, 1, tzinfo=UTC) + timedelta(seconds=seconds)).astimezone(zone),
    st.integers(min_value=0, max_value=400 * 86_400),
    st.sampled_from(ZONES),
)
durations = st.integers(min_value=0, max_value=300 * 3600).map(lambda s: timedelta(seconds=s))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """A random working week (0–2 ranges a day, at least one open day), in a zone with or without daylight saving,
    with or without China's holidays."""
    week = []
    for _ in range(7):
        cuts = sorted(draw(st.sets(st.integers(min_value=0, max_value=48), max_size=4)))
        if len(cuts) % 2:
            cuts = cuts[:-1]
        week.append(
            tuple(
                (time(a // 2, 30 * (a % 2)), time.max if b == 48 else time(b // 2, 30 * (b % 2)))
                for a, b in zip(cuts[::2], cuts[1::2], strict=True)
            )
        )

    # At least four working hours on Monday to Friday: a week open only at weekends (closed under China's
    # calendar but on make-up days) or for half an hour would take years to hold 300 hours, past the search's
    # three-year horizon (NeverOpen), which no merchant's calendar comes near.
    def seconds(ranges: tuple) -> float:
        return sum((datetime.combine(START_DAY, b) - datetime.combine(START_DAY, a)).total_seconds() for a, b in ranges)

    if sum(seconds(day) for day in week[:5]) < 4 * 3600:
        week[0] = ((time(9), time(17)),)
    zone = draw(st.sampled_from([SHANGHAI, UTC, ZoneInfo("America/New_York")]))
    return Schedule(zone=zone, week=tuple(week), holidays=draw(st.sampled_from([china_day, OFFICE.holidays])))


START_DAY = date(2026, 1, 5)
some_schedules = st.one_of(st.just(OFFICE), schedules())


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, durations, durations)
def test_adding_is_additive(schedule: Schedule, start: datetime, a: timedelta, b: timedelta) -> None:
    assert add(schedule, add(schedule, start, a), b) == add(schedule, start, a + b)


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, durations, durations)
def test_adding_more_ends_no_earlier(schedule: Schedule, start: datetime, a: timedelta, b: timedelta) -> None:
    shorter, longer = sorted([a, b])
    assert start <= add(schedule, start, shorter) <= add(schedule, start, longer)


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, instants, durations)
def test_starting_later_ends_no_earlier(schedule: Schedule, one: datetime, other: datetime, a: timedelta) -> None:
    early, late = sorted([one, other])
    assert add(schedule, early, a) <= add(schedule, late, a)


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, durations)
def test_counting_undoes_adding(schedule: Schedule, start: datetime, a: timedelta) -> None:
    due = add(schedule, start, a)
    assert between(schedule, start, due) == a
    if a:  # the last second counted was a working one
        assert is_open(schedule, due - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, instants, instants)
def test_counting_adds_up_over_any_split(schedule: Schedule, one: datetime, two: datetime, three: datetime) -> None:
    assert between(schedule, one, two) + between(schedule, two, three) == between(schedule, one, three)
    assert between(schedule, one, two) == -between(schedule, two, one)


@settings(max_examples=200, deadline=None)
@given(instants, st.sampled_from(ZONES))
def test_the_zone_of_the_input_changes_nothing(start: datetime, zone: ZoneInfo) -> None:
    moved = start.astimezone(zone)
    assert add(OFFICE, moved, 5 * H) == add(OFFICE, start, 5 * H)
    assert deadline(OFFICE, moved, 50 * H) == deadline(OFFICE, start, 50 * H)
    assert between(OFFICE, moved, start + 30 * H) == between(OFFICE, start, start + 30 * H)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=7 * 86_400 - 1),
    st.integers(min_value=0, max_value=7 * 86_400 - 1),
    st.sampled_from(ZONES),
)
def test_closed_days_count_nothing(a: int, b: int, zone: ZoneInfo) -> None:
    golden_week = at(2026, 10, 1)  # 1–7 October 2026: 国庆
    one = (golden_week + timedelta(seconds=a)).astimezone(zone)
    two = (golden_week + timedelta(seconds=b)).astimezone(zone)
    assert between(OFFICE, one, two) == timedelta(0)
    assert add(OFFICE, one, timedelta(seconds=1)) == at(2026, 10, 8, 9) + timedelta(seconds=1)


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, durations, durations)
def test_working_days_are_monotonic(schedule: Schedule, start: datetime, a: timedelta, b: timedelta) -> None:
    shorter, longer = sorted([a, b])
    assert add_working_days(schedule, start, shorter) <= add_working_days(schedule, start, longer)
    assert deadline(schedule, start, shorter) >= start


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, instants, durations)
def test_working_days_from_a_later_start_end_no_earlier(
    schedule: Schedule, one: datetime, other: datetime, a: timedelta
) -> None:
    early, late = sorted([one, other])
    assert add_working_days(schedule, early, a) <= add_working_days(schedule, late, a)


@settings(max_examples=300, deadline=None)
@given(some_schedules, instants, durations, durations)
def test_working_days_add_up(schedule: Schedule, start: datetime, a: timedelta, b: timedelta) -> None:
    """Two spans of working days one after the other end where their sum does (to the millisecond: a share of a
    day is rounded to the microsecond)."""
    twice = add_working_days(schedule, add_working_days(schedule, start, a), b)
    once = add_working_days(schedule, start, a + b)
    assert abs(twice - once) <= timedelta(milliseconds=1)
