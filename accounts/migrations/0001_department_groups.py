"""The admin's permission groups (accounts.groups): operations, warehouse, logistics and supervisors."""

from django.db import migrations


def ensure(apps, schema_editor):
    from accounts.groups import groups_ensure

    groups_ensure(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tickets", "0003_step_clock_and_sla_fields"),
        ("orders", "0001_initial"),
        ("routing", "0002_default_departments"),
        ("notifications", "0002_default_templates"),
        ("api", "0001_initial"),
    ]

    # Reversing leaves the groups: users may have been put in them since.
    operations = [migrations.RunPython(ensure, migrations.RunPython.noop)]
