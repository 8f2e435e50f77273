"""Supervisors manage the business-hours calendars (issue 15: accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_quality_permissions"),
        ("routing", "0006_business_calendars"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
