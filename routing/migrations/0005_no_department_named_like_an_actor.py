"""Settings and secrets (issue 12): no department may have a code that names an actor ("buyer", "system", …).

Such a code is refused from now on (``Department.clean``). This migration refuses to run while one exists, naming
it, rather than rename it: tickets, the timeline and the admin's groups refer to a department by its code, so
the operator chooses the new code and moves the tickets (see the message).
"""

from django.db import migrations

# kefu.core.vocabulary.RESERVED_DEPARTMENT_CODES as it was when this migration was written (a migration does not
# change with the code).
RESERVED_DEPARTMENT_CODES = frozenset(
    {
        "buyer",
        "system",
        "integration",
        "staff",
        "platform",
        "supervisor",
        "admin",
        "superuser",
        "anonymous",
        "anyone",
        "nobody",
        "everyone",
    }
)


def refuse_reserved_codes(apps, schema_editor):
    Department = apps.get_model("routing", "Department")
    clashing = sorted(
        code for code in Department.objects.values_list("code", flat=True) if code.lower() in RESERVED_DEPARTMENT_CODES
    )
    if clashing:
        raise RuntimeError(
            f"Departments with codes that name an actor, not a department: {', '.join(clashing)}. Their members would "
            "read as that actor. Give each a new code first (in the database: UPDATE routing_department SET code = "
            "'<new>' WHERE code = '<old>'; UPDATE tickets_ticket SET department = '<new>' WHERE department = '<old>'), "
            "then migrate again."
        )


class Migration(migrations.Migration):
    dependencies = [("routing", "0004_beat_tasks_moved_to_tickets")]

    operations = [migrations.RunPython(refuse_reserved_codes, migrations.RunPython.noop)]
