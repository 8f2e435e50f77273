"""Supervisors may put given-up pushed messages back in line (the inbox admin's "process again")."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_connectors_permissions"),
        ("connectors", "0002_pull_lease_inbox_failed"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
