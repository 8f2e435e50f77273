"""The finance group: records manual refund payouts (tickets.pay_refund) and reconciles statements (issue 14)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_supervisors_process_inbox_again"),
        ("tickets", "0015_refund_lifecycle"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
