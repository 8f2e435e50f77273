"""China's public holidays and make-up workdays (调休), from the maintained ``chinesecalendar`` package.

The State Council publishes each year's schedule in November or December; ``chinesecalendar`` ships it in a
release soon after (pinned in requirements.txt: upgrade it when the next year's schedule is out). For a year the
package does not know, :func:`china_day` says nothing (the week's plain weekdays and weekends apply) and logs a
warning once per year and process; routing's system check ``routing.W001`` warns a month ahead. A merchant adds
the days by hand meanwhile (a calendar's own holidays and workdays win over these).
"""

from __future__ import annotations

import logging
from datetime import date
from importlib.metadata import version

from chinese_calendar.constants import holidays as _holidays
from chinese_calendar.constants import workdays as _workdays

from kefu.core.business_hours import HOLIDAY, WORKDAY, DayKind

logger = logging.getLogger(__name__)

FIRST_YEAR: int = min(_holidays).year
LAST_YEAR: int = max(_holidays).year
_warned: set[int] = set()


def package_version() -> str:
    return version("chinesecalendar")


def covers(year: int) -> bool:
    """Whether ``chinesecalendar`` knows ``year``'s holidays and make-up workdays."""
    return FIRST_YEAR <= year <= LAST_YEAR


def china_day(day: date) -> DayKind | None:
    """``HOLIDAY`` (a day off: a public holiday or a day moved into one), ``WORKDAY`` (a make-up workday, often a
    weekend day), or None (an ordinary day, or a year the package does not know)."""
    if not covers(day.year):
        if day.year not in _warned:
            _warned.add(day.year)
            logger.warning(
                "chinesecalendar %s has no holidays for %s (it knows %s-%s): business hours count plain "
                "weekdays and weekends that year; upgrade chinesecalendar or add the days to the calendars.",
                package_version(),
                day.year,
                FIRST_YEAR,
                LAST_YEAR,
            )
        return None
    if day in _workdays:
        return WORKDAY
    if day in _holidays:
        return HOLIDAY
    return None
