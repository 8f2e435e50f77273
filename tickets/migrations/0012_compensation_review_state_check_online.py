"""Widen ``ticket_state_belongs_to_kind`` to the logistics state ``compensation_review`` (0011), without locking
the ticket table for a full scan on PostgreSQL.

The new check only allows more than the old one, so every row already satisfies it. On PostgreSQL the old constraint
is dropped and the new one added ``NOT VALID`` in one short transaction (new and changed rows are checked at once),
then ``VALIDATE CONSTRAINT`` scans the existing rows under a lock that lets reads and writes go on. Elsewhere
(SQLite) Django's own remove and add.
"""

from django.db import migrations, models, transaction
from django.db.migrations.operations.base import Operation

NAME = "ticket_state_belongs_to_kind"
WIDER = models.CheckConstraint(condition=models.Q(models.Q(('kind', 'return'), ('state__in', ['requested', 'rejected', 'awaiting_return', 'return_in_transit', 'received', 'refund_pending', 'arbitration', 'refunded', 'closed', 'cancelled'])), models.Q(('kind', 'exchange'), ('state__in', ['requested', 'rejected', 'awaiting_return', 'return_in_transit', 'received', 'replacement_pending', 'replacement_shipped', 'arbitration', 'completed', 'closed', 'cancelled'])), models.Q(('kind', 'complaint'), ('state__in', ['open', 'acknowledged', 'investigating', 'escalated', 'resolution_proposed', 'closed', 'cancelled'])), models.Q(('kind', 'logistics'), ('state__in', ['reported', 'investigating', 'reshipping', 'reshipped', 'compensation_review', 'compensating', 'refunding', 'found', 'resolved', 'closed', 'cancelled'])), _connector='OR'), name='ticket_state_belongs_to_kind')


class WidenCheckOnline(Operation):
    """Replace the check ``NAME`` by ``WIDER``: on PostgreSQL NOT VALID, then validated; elsewhere Django's own."""

    reduces_to_sql = False
    reversible = True

    def __init__(self) -> None:
        self.remove = migrations.RemoveConstraint(model_name="ticket", name=NAME)
        self.add = migrations.AddConstraint(model_name="ticket", constraint=WIDER)

    def state_forwards(self, app_label, state):
        self.remove.state_forwards(app_label, state)
        self.add.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            middle = from_state.clone()
            self.remove.state_forwards(app_label, middle)
            self.remove.database_forwards(app_label, schema_editor, from_state, middle)
            self.add.database_forwards(app_label, schema_editor, middle, to_state)
            return
        model = to_state.apps.get_model(app_label, "ticket")
        table = schema_editor.quote_name(model._meta.db_table)
        name = schema_editor.quote_name(NAME)
        check = WIDER._get_check_sql(model, schema_editor)
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
            schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({check}) NOT VALID")
        schema_editor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # The wider check stays: every row the narrower one allowed, it allows too.
        pass

    def describe(self):
        return f"Widen {NAME} (online on PostgreSQL)"


class Migration(migrations.Migration):
    atomic = False  # the validation runs after the short transaction that swapped the constraints

    dependencies = [("tickets", "0011_compensation_review_maker_checker")]

    operations = [WidenCheckOnline()]
