# Issue 16: the relay's lease as an in-place (HOT) update on PostgreSQL.
#
# Taking a lease writes lease_owner and next_attempt_at. With no index on either column (notification_pending_idx
# on next_attempt_at goes; the relay finds due rows by notification_pending_id_idx) and room on the row's page
# (fillfactor 50: a claim leases every row of a page in one statement, so each page needs room for as many new
# versions as it has rows), PostgreSQL writes the new version beside the old one and no index entry. The ticket
# column's own index goes too: notification_ticket_idx (ticket, created_at) serves the lookups by ticket, and
# each outcome written no longer adds an entry to it. The claim finds the failing messages that hold their queue
# back by notification_failing_idx, which holds only those (pending, failing_since set: neither is written by a
# lease).
#
# The fillfactor applies to pages filled from now on; existing pages keep theirs until the table is rewritten
# (VACUUM FULL or pg_repack, at a quiet hour). docs/performance.md, "Notification delivery", has the figures.

import django.db.models.deletion
from django.db import migrations, models

TABLE = "notifications_notification"


def lower_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 50)")


def default_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_staff_wording_events"),
        ("tickets", "0013_ticket_platform_clock"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="notification",
            name="notification_pending_idx",
        ),
        migrations.AlterField(
            model_name="notification",
            name="ticket",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="notifications",
                to="tickets.ticket",
            ),
        ),
        migrations.AddIndex(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("failing_since__isnull", False), ("status", "pending")),
                fields=["ticket", "channel", "recipient", "id"],
                name="notification_failing_idx",
            ),
        ),
        migrations.RunPython(lower_fillfactor, default_fillfactor),
    ]
