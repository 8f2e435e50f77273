"""The date range of the service figures page and its exports: presets or two dates, in the desk's time zone.

``?preset=today|7|30`` (default 7: the last seven days, today included) or ``?from=YYYY-MM-DD&to=YYYY-MM-DD``
(both days included). A range is [local midnight of ``from``, local midnight after ``to``). A date that does not
parse, a range that ends before it starts or one longer than ``MAX_DAYS`` is refused with a message and the
default range is shown instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

PRESETS: dict[str, int] = {"today": 1, "7": 7, "30": 30}
DEFAULT_PRESET = "7"
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    first: date
    last: date
    preset: str  # "" for a range of the user's own
    error: str = ""

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @property
    def query(self) -> str:
        """The query string that names this period (for the export links)."""
        if self.preset:
            return f"preset={self.preset}"
        return f"from={self.first.isoformat()}&to={self.last.isoformat()}"


def preset_period(preset: str, *, today: date) -> Period:
    days = PRESETS[preset]
    return Period(today - timedelta(days=days - 1), today, preset)


def period_from(params: Mapping[str, str], *, now: datetime | None = None) -> Period:
    today = timezone.localdate(now or timezone.now())
    preset = params.get("preset", "")
    if preset in PRESETS:
        return preset_period(preset, today=today)
    start, end = params.get("from", ""), params.get("to", "")
    if not start and not end:
        return preset_period(DEFAULT_PRESET, today=today)
    try:
        first = date.fromisoformat(start) if start else today
        last = date.fromisoformat(end) if end else today
    except ValueError:
        error = _("Please enter the dates as YYYY-MM-DD.")
    else:
        if last < first:
            error = _("The range ends before it starts.")
        elif (last - first).days >= MAX_DAYS:
            error = _("Please choose at most %(days)d days.") % {"days": MAX_DAYS}
        else:
            return Period(first, last, "")
    default = preset_period(DEFAULT_PRESET, today=today)
    return Period(default.first, default.last, default.preset, error)
