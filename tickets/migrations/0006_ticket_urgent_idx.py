"""The admin queue's index (tickets.admin: most urgent first): step deadline, then priority, then id.

On PostgreSQL built with CREATE INDEX CONCURRENTLY, so a large ticket table keeps taking writes while it builds
(hence ``atomic = False``); other databases build it the ordinary way.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexOnline(AddIndexConcurrently):
    """AddIndex, concurrently where the database can (PostgreSQL)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


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
