"""Ship the default message templates (every event, zh-hans and en) so supervisors can edit them."""

from django.db import migrations


def add(apps, schema_editor):
    from notifications.defaults import DEFAULT_TEMPLATES

    Template = apps.get_model("notifications", "Template")
    for (event, language), (subject, body) in DEFAULT_TEMPLATES.items():
        Template.objects.get_or_create(
            event=event, channel="", language=language, defaults={"subject": subject, "body": body}
        )


def remove(apps, schema_editor):
    apps.get_model("notifications", "Template").objects.filter(channel="").delete()


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(add, remove)]
