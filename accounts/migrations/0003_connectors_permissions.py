"""Supervisors configure marketplace connections and see their cases, inbox, write-backs and reports."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_supervisors_see_buyer_contact"),
        ("connectors", "0001_initial"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
