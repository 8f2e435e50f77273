"""Supervisors see the buyers' satisfaction answers and work the follow-ups of low scores (issue 15:
accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_replies_permissions"),
        ("quality", "0001_surveys_and_follow_ups"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
