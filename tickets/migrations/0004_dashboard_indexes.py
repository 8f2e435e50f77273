"""Two indexes of the supervisors' dashboard (dashboard.selectors, docs/performance.md "Dashboard").

On PostgreSQL they are built with CREATE INDEX CONCURRENTLY, so a large ticket table keeps taking writes while
they build (hence ``atomic = False``); other databases build them the ordinary way.
"""

from django.db import migrations, models

from tickets.migrations._online import AddIndexOnline


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
