"""The four departments of the SPEC, shipped as defaults (names and settings editable in the admin)."""

from django.db import migrations

DEFAULTS = [
    ("operations", "运营 Operations"),
    ("warehouse", "仓库 Warehouse"),
    ("logistics", "物流 Logistics"),
    ("supervisors", "客服主管 Supervisors"),
]


def add(apps, schema_editor):
    Department = apps.get_model("routing", "Department")
    for code, name in DEFAULTS:
        Department.objects.get_or_create(code=code, defaults={"name": name})


def remove(apps, schema_editor):
    apps.get_model("routing", "Department").objects.filter(code__in=[c for c, _ in DEFAULTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("routing", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
