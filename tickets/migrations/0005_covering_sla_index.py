"""The SLA index covers what the SLA GROUP BY queries read (docs/performance.md "Dashboard").

``ticket_event_step_idx`` (the timeline entries that ended a step, by time) also holds department, state, met,
duration and id: ``dashboard.sla.sla_summary`` (the dashboard's SLA figures) reads those, and went to the table
for each of the period's steps. Same name and leading columns, so every query that used it still does.

On PostgreSQL the new index is built concurrently before the old one is dropped (under a temporary name, then
renamed), so the table is not locked against writes and no query finds the index missing; other databases
rebuild it the ordinary way.
"""

from django.db import migrations, models


class ReplaceIndexOnline(migrations.operations.base.Operation):
    """Replace ``model``'s index named ``new.name`` by ``new``: concurrently on PostgreSQL (build, drop, rename)."""

    reversible = True
    atomic = False

    def __init__(self, model_name, old, new):
        self.model_name = model_name
        self.old = old
        self.new = new

    def state_forwards(self, app_label, state):
        state.remove_index(app_label, self.model_name, self.old.name)
        state.add_index(app_label, self.model_name, self.new)

    def _replace(self, app_label, schema_editor, from_state, to_state, old, new):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor != "postgresql":
            schema_editor.remove_index(model, old)
            schema_editor.add_index(model, new)
            return
        building = new.clone()
        building.name = f"{new.name[:20]}_new"
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(building.name)}")
        schema_editor.add_index(model, building, concurrently=True)
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(old.name)}")
        schema_editor.execute(
            f"ALTER INDEX {schema_editor.quote_name(building.name)} RENAME TO {schema_editor.quote_name(new.name)}"
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, from_state, to_state, self.old, self.new)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._replace(app_label, schema_editor, from_state, to_state, self.new, self.old)

    def describe(self):
        return f"Replace index {self.new.name} on {self.model_name}"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0004_dashboard_indexes"),
    ]

    operations = [
        ReplaceIndexOnline(
            "ticketevent",
            old=models.Index(
                condition=models.Q(("step_seconds__isnull", False)),
                fields=["created_at", "step_department"],
                name="ticket_event_step_idx",
            ),
            new=models.Index(
                condition=models.Q(("step_seconds__isnull", False)),
                fields=["created_at", "step_department", "step_state", "step_met", "step_seconds", "id"],
                name="ticket_event_step_idx",
            ),
        ),
    ]
