"""The infrastructure pages (Celery beat's schedules, the login lockout's records) with every heading translated.

django-celery-beat and django-axes label a few columns with untranslated text (a property's or a method's name,
``verbose_name='Task Name'``); their admins are registered again here, unchanged but for those labels. The site
keeps them for superusers only (desk/site.py). Django's autodiscovery imports this after their own admin modules
(``desk`` comes after them in INSTALLED_APPS).
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin  # type: ignore[import-untyped]
from axes.models import AccessAttempt  # type: ignore[import-untyped]
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import (
    ClockedScheduleAdmin,
    CrontabScheduleAdmin,
    IntervalScheduleAdmin,
    PeriodicTaskAdmin,
    PeriodicTaskInline,
    SolarScheduleAdmin,
)
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)


class TranslatedPeriodicTaskInline(PeriodicTaskInline):
    fields = ("name", "task_name", "args", "kwargs")
    readonly_fields = fields

    @admin.display(description=_("task"))
    def task_name(self, obj: PeriodicTask) -> str:
        return obj.task


class TranslatedPeriodicTaskAdmin(PeriodicTaskAdmin):
    @admin.display(description=_("scheduler"))
    def scheduler(self, obj: PeriodicTask) -> Any:
        return obj.scheduler

    @admin.display(description=_("crontab in words"))
    def crontab_translation(self, obj: PeriodicTask) -> Any:
        return super().crontab_translation(obj)


class TranslatedCrontabScheduleAdmin(CrontabScheduleAdmin):
    inlines = [TranslatedPeriodicTaskInline]

    @admin.display(description=_("in words"))
    def human_readable(self, obj: CrontabSchedule) -> str:
        return str(obj.human_readable)


class TranslatedAccessAttemptAdmin(AccessAttemptAdmin):
    @admin.display(description=_("status"))
    def status(self, obj: AccessAttempt) -> Any:
        return super().status(obj)


def _schedule_admin(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    return type(f"Translated{base.__name__}", (base,), {"inlines": [TranslatedPeriodicTaskInline]})


for model, model_admin in (
    (PeriodicTask, TranslatedPeriodicTaskAdmin),
    (CrontabSchedule, TranslatedCrontabScheduleAdmin),
    (ClockedSchedule, _schedule_admin(ClockedScheduleAdmin)),
    (SolarSchedule, _schedule_admin(SolarScheduleAdmin)),
    (IntervalSchedule, _schedule_admin(IntervalScheduleAdmin)),
    (AccessAttempt, TranslatedAccessAttemptAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
