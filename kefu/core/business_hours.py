"""Business-time arithmetic: add business seconds to an instant, count the business seconds between two.

A :class:`Schedule` is a department's working week in its time zone (up to a few opening ranges per weekday,
e.g. 09:00–12:00 and 13:30–18:00), the days it is closed although the week says open (China's public
holidays, a merchant's own days off) and the days it opens although the week says closed (China's make-up
workdays 调休, a merchant's extra days), which open with the hours of ``makeup_weekday``. What a day is comes
from, in order: the schedule's own ``closed``/``opened`` dates, then ``holidays(date)`` (None: nothing special),
then the week.

Instants may be in any time zone: they are compared as instants (UTC microseconds), each day's opening ranges
being placed in the schedule's zone (a zone with daylight saving is handled: a range is as long as the clock
really runs). Results are in UTC. ``add(t, 0) == t``; a duration that ends exactly at a closing time ends
there (Friday 18:00, not Monday 09:00). Pure Python, no Django, no database: routing builds schedules from
its calendars and caches them (routing.config).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

Range = tuple[time, time]
DayKind = str  # "holiday" (closed) or "workday" (open with the make-up hours)
HOLIDAY = "holiday"
WORKDAY = "workday"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# A schedule open on no day at all never reaches an end: ``add`` stops looking after this many days.
SEARCH_DAYS = 3 * 366


class NeverOpen(ValueError):
    """The schedule has no opening hours within ``SEARCH_DAYS``: no deadline can be placed."""


def no_holidays(day: date) -> DayKind | None:
    return None


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a cache key of its days' ranges
class Schedule:
    zone: tzinfo
    # Monday (0) … Sunday (6): each day's opening ranges, in order, not overlapping; () closed.
    week: tuple[tuple[Range, ...], ...]
    makeup_weekday: int = 0
    closed: frozenset[date] = frozenset()
    opened: frozenset[date] = frozenset()
    holidays: Callable[[date], DayKind | None] = no_holidays

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("a week has 7 days")
        for ranges in self.week:
            previous = time.min
            for start, end in ranges:
                if not start < end or start < previous:
                    raise ValueError(f"opening ranges must be ordered and not overlap: {ranges}")
                previous = end

    def ranges_on(self, day: date) -> tuple[Range, ...]:
        """The opening ranges of ``day`` (local), after holidays and make-up workdays."""
        if day in self.closed:
            return ()
        if day in self.opened:
            return self.week[day.weekday()] or self.week[self.makeup_weekday]
        kind = self.holidays(day)
        if kind == HOLIDAY:
            return ()
        if kind == WORKDAY:
            return self.week[day.weekday()] or self.week[self.makeup_weekday]
        return self.week[day.weekday()]

    def is_open_on(self, day: date) -> bool:
        return bool(self.ranges_on(day))


def _us(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError("business-time arithmetic needs aware datetimes")
    return (instant - _EPOCH) // _US


def _instant(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


@functools.lru_cache(maxsize=4096)
def _spans(schedule: Schedule, day: date) -> tuple[tuple[int, int], ...]:
    """``day``'s opening ranges as UTC microseconds (an end of ``time.max`` is the next midnight)."""
    spans = []
    for start, end in schedule.ranges_on(day):
        begin = datetime.combine(day, start, tzinfo=schedule.zone)
        if end == time.max:
            finish = datetime.combine(day + timedelta(days=1), time.min, tzinfo=schedule.zone)
        else:
            finish = datetime.combine(day, end, tzinfo=schedule.zone)
        spans.append((_us(begin), _us(finish)))
    return tuple(spans)


def _local_day(schedule: Schedule, us: int) -> date:
    return _instant(us).astimezone(schedule.zone).date()


def add(schedule: Schedule, start: datetime, delta: timedelta) -> datetime:
    """The instant ``delta`` of business time after ``start`` (``delta`` ≥ 0). Raises :class:`NeverOpen`."""
    if delta < timedelta(0):
        raise ValueError("add() takes a duration of zero or more")
    now = _us(start)
    left = delta // _US
    if left == 0:
        return start.astimezone(UTC)
    day = _local_day(schedule, now)
    for _ in range(SEARCH_DAYS):
        for begin, end in _spans(schedule, day):
            if now >= end:
                continue
            now = max(now, begin)
            if left <= end - now:
                return _instant(now + left)
            left -= end - now
            now = end
        day += timedelta(days=1)
    raise NeverOpen(f"no opening hours within {SEARCH_DAYS} days")


def add_working_days(schedule: Schedule, start: datetime, delta: timedelta) -> datetime:
    """``delta`` counted in working days (24 h = one working day, 36 h = one and a half) after ``start``.

    A point of a working day is the share of that day's opening hours gone by (a step starting outside opening
    hours starts at the next opening); the result is the same share of the working day ``delta`` later, whatever
    its hours (a shorter Saturday, two ranges). A whole number of days ending a day ends at its closing time:
    Friday 09:00 + 1 day is Friday 18:00, Friday 17:00 + 1 day Monday 17:00.
    """
    if delta < timedelta(0):
        raise ValueError("add_working_days() takes a duration of zero or more")
    now = _us(start)
    day = _local_day(schedule, now)
    spans = _spans(schedule, day)
    if not spans or now > spans[-1][1]:
        day, spans, done = _next_open(schedule, day), (), 0
    else:
        done = sum(max(0, min(end, now) - begin) for begin, end in spans)
    if not spans:
        spans = _spans(schedule, day)
    position = done * _DAY_US // _length(spans) + delta // _US
    whole, share = divmod(position, _DAY_US)
    if share == 0 and whole > 0:
        whole, share = whole - 1, _DAY_US  # the end of a working day, not the opening of the next
    for _ in range(whole):
        day = _next_open(schedule, day)
    spans = _spans(schedule, day)
    left = share * _length(spans) // _DAY_US
    for begin, end in spans:
        if left <= end - begin:
            return _instant(begin + left)
        left -= end - begin
    return _instant(spans[-1][1])


_DAY_US = 86_400_000_000


def _length(spans: tuple[tuple[int, int], ...]) -> int:
    return sum(end - begin for begin, end in spans)


def _next_open(schedule: Schedule, day: date) -> date:
    for _ in range(SEARCH_DAYS):
        day += timedelta(days=1)
        if _spans(schedule, day):
            return day
    raise NeverOpen(f"no opening hours within {SEARCH_DAYS} days")


def deadline(schedule: Schedule, start: datetime, delta: timedelta) -> datetime:
    """An internal SLA's deadline: under a day, ``delta`` of business hours (:func:`add`: 4 h = four working
    hours); a day or more, working days (:func:`add_working_days`: 48 h = two working days)."""
    if delta < timedelta(days=1):
        return add(schedule, start, delta)
    return add_working_days(schedule, start, delta)


def between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """Business time from ``start`` to ``end``; negative when ``end`` comes first."""
    low, high = _us(start), _us(end)
    if high < low:
        return -between(schedule, end, start)
    total = 0
    day = _local_day(schedule, low)
    last = _local_day(schedule, high)
    while day <= last:
        for begin, finish in _spans(schedule, day):
            total += max(0, min(finish, high) - max(begin, low))
        day += timedelta(days=1)
    return timedelta(microseconds=total)


def is_open(schedule: Schedule, instant: datetime) -> bool:
    """Whether ``instant`` falls within an opening range (its start included, its end not)."""
    us = _us(instant)
    return any(begin <= us < end for begin, end in _spans(schedule, _local_day(schedule, us)))
