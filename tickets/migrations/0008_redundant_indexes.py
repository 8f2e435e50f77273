"""Drop the ticket indexes another index covers. Most transitions change indexed columns (state, department,
due times), so PostgreSQL writes a new entry in every index of the ticket table on each change: 20 indexes
before this migration, 15 after. Each dropped one is served by a wider one:

- ``ticket_order_idx`` duplicated the order foreign key's own index;
- ``ticket_created_idx`` (created_at desc): ``ticket_created_kind_idx`` (created_at, kind), read backwards;
- the shop and assignee foreign keys' own indexes: ``ticket_shop_created_idx`` and ``ticket_assignee_open_idx``
  begin with them;
- the timeline's and the ticket lines' ticket indexes: ``ticket_event_timeline_idx`` and ``ticket_line_unique``
  begin with the ticket;
- the ticket number's LIKE index: numbers are only looked up whole (the unique index serves that).

Dropped concurrently on PostgreSQL (no lock against writes), like 0006 and 0007 build theirs.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from tickets.migrations._online import DropFieldIndexOnline, DropLikeIndexOnline, RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('orders', '0001_initial'),
        ('tickets', '0007_ticket_shop_created_idx'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        RemoveIndexOnline(
            model_name='ticket',
            name='ticket_order_idx',
        ),
        RemoveIndexOnline(
            model_name='ticket',
            name='ticket_created_idx',
        ),
        DropFieldIndexOnline(
            model_name='ticket',
            name='assignee',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='assigned_tickets', to=settings.AUTH_USER_MODEL, verbose_name='assignee'),
        ),
        DropFieldIndexOnline(
            model_name='ticket',
            name='shop',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='tickets', to='orders.shop', verbose_name='shop'),
        ),
        DropFieldIndexOnline(
            model_name='ticketevent',
            name='ticket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='tickets.ticket', verbose_name='ticket'),
        ),
        DropFieldIndexOnline(
            model_name='ticketline',
            name='ticket',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='tickets.ticket', verbose_name='ticket'),
        ),
        DropLikeIndexOnline(model_name="ticket", name="number"),
    ]
