"""Supervisors declare, start, extend and close incidents (issue 17: accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_surge_permissions"),
        ("incidents", "0001_initial"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
