"""Supervisors watch the queues and move reinforcements (issue 17, surge: accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_calendar_permissions"),
        ("routing", "0007_reinforcement"),
        ("surge", "0001_surge_alert"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
