"""Supervisors' business-hours calendars: the weekly hours, the calendar's own days off and extra workdays, and
the next two weeks as the deadlines will count them (routing.calendars).

A calendar applies to the departments that name it (the department's page); a department without one works
around the clock. The change page's preview is the same arithmetic the ticket engine uses (``schedule_of``), so
what a supervisor reads there is what the deadlines do.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from kefu.core.business_hours import HOLIDAY, WORKDAY
from kefu.core.china_holidays import covers
from routing.config import schedule_of
from routing.models import BusinessCalendar, CalendarDay, Weekday, WorkingHours

PREVIEW_DAYS = 14


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """A weekday's ranges must not overlap; at least one day has hours; the make-up workdays' day has hours."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        by_day: dict[int, list[tuple[time, time]]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or data.get("weekday") is None:
                continue
            end = time.max if data["end"] == time(0) else data["end"]
            by_day.setdefault(int(data["weekday"]), []).append((data["start"], end))
        for weekday, ranges in by_day.items():
            ranges.sort()
            for (_start, end), (start, _end) in zip(ranges, ranges[1:], strict=False):
                if start < end:
                    raise forms.ValidationError(
                        _("The hours of %(day)s overlap (%(start)s); make them one range or move one.")
                        % {"day": Weekday(weekday).label, "start": f"{start:%H:%M}"}
                    )
        if not by_day:
            raise forms.ValidationError(
                _("Give the calendar working hours on at least one day: a calendar that never opens has no deadlines.")
            )
        makeup = getattr(self.instance, "makeup_weekday", None)
        if makeup is not None and makeup not in by_day:
            raise forms.ValidationError(
                _("Make-up workdays work like %(day)s, which has no hours here: give it hours or choose another day.")
                % {"day": Weekday(makeup).label}
            )


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    formset = WorkingHoursFormSet
    fields = ["weekday", "start", "end"]
    extra = 0
    min_num = 1
    verbose_name = _("opening range")
    verbose_name_plural = _("working hours (a day may have two ranges, e.g. a lunch break between them)")


class CalendarDayInline(admin.TabularInline):
    model = CalendarDay
    fields = ["date", "open", "note"]
    extra = 0
    verbose_name_plural = _("this calendar's own holidays and extra workdays (win over China's)")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "week_summary", "time_zone", "china_holidays", "department_list"]
    search_fields = ["name"]
    inlines = [WorkingHoursInline, CalendarDayInline]
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "time_zone", "china_holidays", "makeup_weekday"],
                "description": _(
                    "Internal deadlines (a department's own steps) count only these hours: under a day in "
                    "working hours, a day or more in working days. What the buyer or a marketplace is promised "
                    "runs around the clock. Give the calendar to departments on their page."
                ),
            },
        ),
        (_("The next two weeks"), {"fields": ["preview"]}),
    ]
    readonly_fields = ["preview"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BusinessCalendar]:
        return super().get_queryset(request).prefetch_related("hours", "departments")

    @admin.display(description=_("working hours"))
    def week_summary(self, obj: BusinessCalendar) -> str:
        by_day: dict[int, list[str]] = {}
        for hours in sorted(obj.hours.all(), key=lambda h: (h.weekday, h.start)):
            by_day.setdefault(hours.weekday, []).append(f"{hours.start:%H:%M}–{hours.end:%H:%M}")
        # Consecutive weekdays with the same hours as one run: 周一–周五 09:00–12:00, 13:30–18:00.
        runs: list[tuple[int, int, str]] = []
        for weekday in sorted(by_day):
            text = ", ".join(by_day[weekday])
            if runs and runs[-1][1] == weekday - 1 and runs[-1][2] == text:
                runs[-1] = (runs[-1][0], weekday, text)
            else:
                runs.append((weekday, weekday, text))
        return "; ".join(
            f"{Weekday(a).label}{'–' + str(Weekday(b).label) if b != a else ''} {text}" for a, b, text in runs
        )

    @admin.display(description=_("departments"))
    def department_list(self, obj: BusinessCalendar) -> str:
        return ", ".join(d.name for d in obj.departments.all()) or "—"

    @admin.display(description=_("days as the deadlines count them"))
    def preview(self, obj: BusinessCalendar | None) -> SafeString | str:
        if obj is None or obj.pk is None:
            return gettext("Shown once the calendar is saved.")
        schedule = schedule_of(obj)
        today = timezone.now().astimezone(schedule.zone).date()
        rows = []
        for offset in range(PREVIEW_DAYS):
            day = today + timedelta(days=offset)
            ranges = schedule.ranges_on(day)
            hours = ", ".join(
                f"{start:%H:%M}–{'24:00' if end == time.max else f'{end:%H:%M}'}" for start, end in ranges
            )
            rows.append(
                (
                    "open" if ranges else "closed",
                    day.isoformat(),
                    f"{day:%m-%d} {Weekday(day.weekday()).label}",
                    hours or pgettext("calendar day", "closed"),
                    self._why(obj, schedule, day),
                )
            )
        table = format_html_join(
            "",
            '<tr class="calendar-day calendar-{}" data-date="{}"><td>{}</td><td>{}</td><td>{}</td></tr>',
            rows,
        )
        return format_html('<table id="calendar-preview"><tbody>{}</tbody></table>', table)

    def _why(self, obj: BusinessCalendar, schedule: Any, day: date) -> str:
        if day in schedule.opened:
            return gettext("extra workday (this calendar)")
        if day in schedule.closed:
            return gettext("day off (this calendar)")
        if obj.china_holidays:
            if not covers(day.year):
                return gettext("China's holidays for %(year)s not known yet: plain weekday/weekend") % {
                    "year": day.year
                }
            kind = schedule.holidays(day)
            if kind == HOLIDAY:
                return gettext("public holiday (China)")
            if kind == WORKDAY:
                return gettext("make-up workday (China, 调休)")
        return ""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        zone = form.base_fields.get("time_zone")
        if zone is not None:
            zone.help_text = _("A tz database name; China uses Asia/Shanghai.")
        return form
