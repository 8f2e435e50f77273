"""The deadline sweep and the stalled-parcel watch moved from routing/tasks.py to tickets/tasks.py, and their
Celery names with them. Beat's stored schedules (django-celery-beat's PeriodicTask rows: the two that
CELERY_BEAT_SCHEDULE put there, and any an operator added in the admin) are renamed, so they go on running.
Beat itself rewrites the rows named in CELERY_BEAT_SCHEDULE when it starts; this also covers the others.
"""

from django.db import migrations
from django.utils import timezone

RENAMED = {
    "routing.tasks.sweep_deadlines_task": "tickets.tasks.sweep_deadlines_task",
    "routing.tasks.open_stalled_parcel_tickets_task": "tickets.tasks.open_stalled_parcel_tickets_task",
}


def rename(apps, schema_editor, renamed=RENAMED):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    changed = 0
    for old, new in renamed.items():
        changed += PeriodicTask.objects.filter(task=old).update(task=new)
    if changed:
        # Beat reloads its schedule when this row's date moves (django_celery_beat.models.PeriodicTasks).
        PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
        PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, renamed={new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0003_overflow_help_text"),
        ("django_celery_beat", "0001_initial"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
