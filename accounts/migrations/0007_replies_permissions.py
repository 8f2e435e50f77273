"""Supervisors manage canned replies and macros (issue 15: accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_money_and_risk_permissions"),
        ("replies", "0001_canned_replies_and_macros"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
