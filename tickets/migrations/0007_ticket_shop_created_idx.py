"""The storefront ticket list's index (api: one shop's tickets, newest first): shop, then creation time and id
descending, the cursor pagination's order. Built concurrently on PostgreSQL, like 0006.
"""

from django.db import migrations, models

from tickets.migrations._online import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0006_ticket_urgent_idx"),
    ]

    operations = [
        AddIndexOnline(
            model_name="ticket",
            index=models.Index(fields=["shop", "-created_at", "-id"], name="ticket_shop_created_idx"),
        ),
    ]
