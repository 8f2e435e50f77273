"""The admin queue's index (desk.admin: most urgent first): step deadline, then priority, then id.

On PostgreSQL built with CREATE INDEX CONCURRENTLY, so a large ticket table keeps taking writes while it builds
(hence ``atomic = False``); other databases build it the ordinary way.
"""

from django.db import migrations, models

from tickets.migrations._online import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0005_covering_sla_index"),
    ]

    operations = [
        AddIndexOnline(
            model_name="ticket",
            index=models.Index(fields=["step_due_at", "-priority", "id"], name="ticket_urgent_idx"),
        ),
    ]
