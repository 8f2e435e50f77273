"""Department staff pay compensations and see risk flags; supervisors also manage coupon pools, risk thresholds
and fast-refund rules (issue 14: accounts.groups)."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_finance_group"),
        ("payments", "0001_initial"),
        ("risk", "0001_initial"),
    ]

    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
