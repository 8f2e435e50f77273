"""``manage.py seed_demo [--reset]``: demo shops, staff, orders and tickets of every kind in various states.

Everything a ticket or order holds is made through the services the API and admin use (``order_upsert``,
``shipment_record_event``, the ticket open/transition services, ``refund_execute``), never by setting a
state, so the demo's timelines replay to their states like real ones. Shops, users and groups are
configuration and are created directly.

The demo Taobao and Pinduoduo shops are connected to the simulators ``make run`` starts (``tests.simulators.demo``,
ports after the web server's: ``desk.demo.marketplaces``), on every run: their cases arrive as tickets by push
and by the periodic pull while ``make run`` is up.

Also made: orders of the official shop stuck with one carrier on their way to Hubei (``desk.demo.incident``,
``KEFU_DEMO_INCIDENT_ORDERS``, 500 by default), for declaring a carrier delay as an incident.

With the shops come 30 days of history (``desk.demo.history``): a few hundred tickets opened and worked through
the services on a moved clock, so the dashboard and the figures have a month behind them on first start
(``KEFU_DEMO_HISTORY_TICKETS`` sets how many; 240 by default).

Idempotent: the demo shops are the marker. When they exist the data is left as it is (only the logins are
made sure of); ``--reset`` deletes the demo shops and everything of theirs first, then builds them again
(with dates relative to now, so the return windows are open again). Runs in one transaction: an error
leaves nothing half-made. Refunds not paid here are queued for the Celery worker when the transaction
commits; with the default filesystem broker that only writes a file, so no worker or server is needed.

Demo only: it creates known passwords, so it refuses to run with DEBUG off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from desk.demo.calendars import calendars_ensure
from desk.demo.history import history_build
from desk.demo.incident import incident_orders_seed
from desk.demo.marketplaces import web_port
from desk.demo.replies import replies_seed
from desk.demo.risk import risk_cases
from desk.demo.satisfaction import satisfaction_answers
from desk.demo.scenarios import Demo
from desk.demo.setup import (
    DEMO_PASSWORD,
    DEMO_SHOP_CODES,
    DEMO_USERNAME,
    OTHER_STAFF,
    SHOPS,
    STAFF,
    STAFF_PASSWORD,
    demo_delete,
    marketplaces_connect,
    users_ensure,
)
from orders.models import Order, Shop
from tickets.models import (
    Ticket,
)


class Command(BaseCommand):
    help = (
        "Create demo shops, staff (ops1, wh1, lg1, sup1 / demo12345), orders and tickets of every kind, and the "
        "superuser admin/admin. Idempotent; --reset rebuilds the demo data. Demo only: refuses with DEBUG off."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Delete the demo shops and everything of theirs, then rebuild them."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo creates known passwords; it only runs with DJANGO_DEBUG=true.")
        with transaction.atomic():
            users = users_ensure()
            calendars_ensure()  # before the tickets: their internal deadlines count business hours
            if options["reset"]:
                demo_delete()
                self.stdout.write("seed_demo: deleted the demo data.")
            if Shop.objects.filter(code__in=DEMO_SHOP_CODES).exists():
                self.stdout.write("seed_demo: demo data already present (use --reset to rebuild it).")
            else:
                demo = Demo(users=users)
                demo.build()
                risk_cases(demo)  # a serial returner and a reused photo, flagged (desk.demo.risk)
                replies_seed(demo)  # canned replies, macros, the shops' return addresses (desk.demo.replies)
                made = history_build(demo)  # the last 30 days, so the dashboard has a history (desk.demo.history)
                self.stdout.write(f"seed_demo: {made} tickets of the last 30 days.")
                self.stdout.write("seed_demo: demo data created.")
            # After all the other demo data (whatever resolved tickets it made); idempotent, so also on a re-run.
            answers = satisfaction_answers()
            if answers:
                self.stdout.write(f"seed_demo: {answers} satisfaction answers (回访).")
            # Parcels stuck with one carrier on their way to one region, for declaring an incident (docs/incidents.md).
            stuck = incident_orders_seed()
            if stuck:
                self.stdout.write(f"seed_demo: {stuck} orders stuck with ZTO on their way to Hubei (for an incident).")
            connections = marketplaces_connect(port=web_port())
        for shop_connection in connections:
            self.stdout.write(f"  {shop_connection}: simulated at {shop_connection.base_url}")
        self.summary(write=self.stdout.write)

    def summary(self, *, write: Callable[[str], Any]) -> None:
        tickets = Ticket.objects.filter(shop__code__in=DEMO_SHOP_CODES)
        counts = Counter(tickets.values_list("kind", "state"))
        orders = Order.objects.filter(shop__code__in=DEMO_SHOP_CODES).count()
        write(f"  {len(SHOPS)} shops, {orders} orders, {sum(counts.values())} tickets:")
        for (kind, state), n in sorted(counts.items()):
            write(f"    {kind:<10} {state:<20} {n}")
        write(f"  Log in at http://127.0.0.1:{web_port()}/admin/ as {DEMO_USERNAME} / {DEMO_PASSWORD} (superuser),")
        write(f"  or as {', '.join(STAFF)} / {STAFF_PASSWORD} (operations, warehouse, logistics, supervisors),")
        write(f"  or as {', '.join(OTHER_STAFF)} / {STAFF_PASSWORD} (finance: the refunds to pay).")
