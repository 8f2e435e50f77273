"""Supervisors get ``tickets.view_buyer_contact`` (accounts.groups, tickets.privacy): buyers' phone numbers and
email addresses in full; every other group sees them masked."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_department_groups"),
        ("tickets", "0010_ticket_view_buyer_contact"),
    ]

    # Reversing leaves the groups as they are (the permission goes with tickets 0010 reversed).
    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
