"""``routing.W001``: China's holiday data runs out soon (chinesecalendar knows no later year).

Without it, calendars with China's holidays count that year's plain weekdays and weekends (a working day in
the Spring Festival, a make-up Saturday closed): upgrade ``chinesecalendar`` once it ships the year, or add the
days to each calendar (its holidays and extra workdays). Shown by every ``manage.py`` command from a month
before the year starts; kefu.core.china_holidays also logs it when a deadline first falls in such a year.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError
from django.utils import timezone

from kefu.core.china_holidays import LAST_YEAR, package_version
from routing.models import BusinessCalendar

LOOKAHEAD = timedelta(days=31)


@register(Tags.database)
def check_china_holidays(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[CheckMessage]:
    soon = (timezone.now() + LOOKAHEAD).year
    if soon <= LAST_YEAR or not databases:
        return []
    try:
        used = BusinessCalendar.objects.filter(china_holidays=True, departments__isnull=False).exists()
    except DatabaseError:  # not migrated yet: nothing uses a calendar
        return []
    if not used:
        return []
    return [
        CheckWarning(
            f"chinesecalendar {package_version()} knows China's public holidays and make-up workdays up to "
            f"{LAST_YEAR}; from {LAST_YEAR + 1} business-hours calendars count plain weekdays and weekends.",
            hint="Upgrade chinesecalendar (requirements.txt) once it ships the new year, or add the holidays and "
            "make-up workdays to each calendar in the admin (Routing › Business-hours calendars).",
            id="routing.W001",
        )
    ]
