"""Default reason codes (editable later in the admin), and the append-only guard of the timeline.

On PostgreSQL a trigger refuses UPDATE and DELETE of timeline rows from any client, not only from Django.
TRUNCATE (used by test database flushes) is not affected.
"""

from django.db import migrations

DEFAULT_REASONS = [
    ("seven_days_no_reason", "七天无理由", "No reason (7-day return)", ["return", "exchange"]),
    ("quality_problem", "质量问题", "Quality problem", ["return", "exchange", "complaint"]),
    ("wrong_size_colour", "尺码/颜色不合适", "Wrong size or colour", ["return", "exchange"]),
    ("missing_or_wrong_item", "少件/错发", "Missing or wrong item", ["return", "exchange", "complaint"]),
    ("damaged", "商品破损", "Damaged", ["return", "exchange"]),
    ("not_as_described", "与描述不符", "Not as described", ["return", "exchange", "complaint"]),
    ("not_received", "未收到货", "Not received", ["return"]),
    ("not_shipped", "未按约定发货", "Not shipped in time", ["return"]),
    ("out_of_stock", "缺货", "Out of stock", ["return"]),
    ("other", "其他", "Other", ["return", "exchange", "complaint"]),
]


def add_reasons(apps, schema_editor):
    ReasonCode = apps.get_model("tickets", "ReasonCode")
    for order, (code, zh, en, kinds) in enumerate(DEFAULT_REASONS):
        ReasonCode.objects.update_or_create(
            code=code, defaults={"label_zh": zh, "label_en": en, "kinds": kinds, "sort_order": (order + 1) * 10}
        )


def remove_reasons(apps, schema_editor):
    ReasonCode = apps.get_model("tickets", "ReasonCode")
    ReasonCode.objects.filter(code__in=[r[0] for r in DEFAULT_REASONS]).delete()


APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION tickets_ticketevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'tickets_ticketevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_ticketevent_append_only
    BEFORE UPDATE OR DELETE ON tickets_ticketevent
    FOR EACH ROW EXECUTE FUNCTION tickets_ticketevent_append_only();
"""

DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS tickets_ticketevent_append_only ON tickets_ticketevent;
DROP FUNCTION IF EXISTS tickets_ticketevent_append_only();
"""


# params=None: the SQL is sent as is. With the default params=() psycopg parses it for placeholders and
# refuses the '%' of RAISE EXCEPTION ("incomplete placeholder"), so the migration failed on PostgreSQL.
def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_APPEND_ONLY_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(add_reasons, remove_reasons),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
