"""Two indexes of the supervisors' dashboard (dashboard.selectors, docs/performance.md "Dashboard").

On PostgreSQL they are built with CREATE INDEX CONCURRENTLY, so a large ticket table keeps taking writes while
they build (hence ``atomic = False``); other databases build them the ordinary way.
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
        ("tickets", "0003_step_clock_and_sla_fields"),
    ]

    operations = [
        AddIndexOnline(
            model_name="ticket",
            index=models.Index(
                condition=models.Q(("closed_at__isnull", True)),
                fields=["kind", "state", "department", "step_due_at"],
                name="ticket_open_idx",
            ),
        ),
        AddIndexOnline(
            model_name="ticket",
            index=models.Index(fields=["created_at", "kind"], name="ticket_created_kind_idx"),
        ),
    ]
