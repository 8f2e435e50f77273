"""``manage.py bench_incident_tell``: how fast an incident's buyers can be told, and when all of them are.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench python manage.py bench_incident_tell --orders 50000

Seeds ``--orders`` matching orders (benchmarks.incident_data, as ``bench_incident``), their buyers reached by SMS,
starts a carrier delay over them and opens its tickets (incidents.services), then tells every buyer with the code
the Celery task runs (``incidents.messaging.incident_tell_batch``: the incident's lock, the window's count, the
outbox rows and ``told_at`` in one transaction per batch), with the rate lifted so the batches follow each other:
that is one worker's capacity. The time until every buyer is told is then the longer of the two: the capacity's,
and the rate's (``--rate`` buyers a minute, the incident's default ``KEFU_INCIDENT_MESSAGES_PER_MINUTE``). Also:
SQL statements per buyer, outbox rows written, and the progress figures' time and queries at that size.

Destructive like ``bench_incident``: the ticket tables are emptied before and after (``--keep`` leaves the rows); a
database that already holds tickets needs ``--yes``. Other databases than PostgreSQL take at most 5,000 orders.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from benchmarks.incident_data import BENCH_CODE, bench_delete, incident_make, orders_seed, shop_make
from benchmarks.scratch import database_description, machine_load, tables_empty, tables_refuse_unless, ticket_tables
from incidents.messaging import incident_tell_batch
from incidents.models import Incident
from incidents.progress import incident_progress
from incidents.services import incident_open_tickets, incident_start
from notifications.models import Event, Notification, ShopChannels
from tickets.actors import Actor

MAX_WITHOUT_POSTGRES = 5_000
UNBOUNDED = 1_000_000_000  # buyers a minute: the capacity run is bound by the worker, not the rate


class Command(BaseCommand):
    help = (
        "Benchmark of telling an incident's buyers: seeds N matching orders (50,000 by default), opens the "
        "incident's tickets, tells every buyer through the outbox and reports the capacity and the time until all "
        "were told at the incident's rate. Empties the ticket tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=50_000, help="matching orders to seed (default 50,000)")
        parser.add_argument(
            "--rate",
            type=int,
            default=None,
            help="the incident's buyers per minute (default KEFU_INCIDENT_MESSAGES_PER_MINUTE)",
        )
        parser.add_argument("--keep", action="store_true", help="leave the generated rows in the database")
        parser.add_argument("--yes", action="store_true", help="empty the ticket tables even if they hold tickets")

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["orders"]
        rate: int = options["rate"] or int(settings.KEFU_INCIDENT_MESSAGES_PER_MINUTE)
        if n < 1 or rate < 1:
            raise CommandError("--orders and --rate must be at least 1.")
        if connection.vendor != "postgresql" and n > MAX_WITHOUT_POSTGRES:
            raise CommandError(
                f"bench_incident_tell needs PostgreSQL for more than {MAX_WITHOUT_POSTGRES:,} orders (this database "
                f"is {connection.vendor}): DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench."
            )
        tables = ticket_tables()
        if tables_refuse_unless("bench_incident_tell", tables, yes=options["yes"]):
            self.stderr.write(self.style.WARNING(f"WARNING: --yes given: emptying {', '.join(tables)}."))
        tables_empty(tables)
        bench_delete()

        rows: list[tuple[str, str]] = [("database", database_description()), ("load average before", machine_load())]
        shop = shop_make()
        ShopChannels.objects.update_or_create(shop=shop, defaults={"webhook": False, "sms": True, "email": False})
        orders_seed(shop, n=n, now=timezone.now())
        incident = incident_make(shop, n=n)
        incident_start(incident, Actor.system("benchmark"))
        incident.refresh_from_db()
        started = time.perf_counter()
        opened = incident_open_tickets(incident).opened
        rows.append(("tickets opened (setup)", f"{opened:,} in {time.perf_counter() - started:.1f} s"))

        Incident.objects.filter(pk=incident.pk).update(messages_per_minute=UNBOUNDED)
        statements = batches = told = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        wall, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count):
            while True:
                run = incident_tell_batch(incident_id=incident.pk)
                batches += 1
                told += run.told
                if not run.left or not run.told:
                    break
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        per = max(told, 1)
        capacity = told / max(wall, 1e-9)
        at_rate = n / rate * 60
        sent = Notification.objects.filter(event=Event.INCIDENT_NOTICE, ticket__shop=shop).count()
        rows += [
            (
                "buyers told, rate lifted",
                f"{told:,} in {wall:.1f} s = {capacity:,.0f} buyers/s with one worker, {batches:,} batches",
            ),
            ("worker CPU", f"{1000 * cpu / per:.2f} ms per buyer in this process"),
            ("SQL statements", f"{statements / per:.1f} per buyer (savepoints included, commits not)"),
            ("outbox rows (SMS)", f"{sent:,}"),
            (
                f"every buyer told at {rate:,} a minute",
                f"{max(at_rate, wall) / 60:,.1f} min (the rate: {at_rate / 60:,.1f} min; one worker's capacity: "
                f"{wall / 60:,.1f} min)",
            ),
        ]
        statements = 0
        started = time.perf_counter()
        with connection.execute_wrapper(count):
            progress = incident_progress(incident)
        rows.append(
            (
                "progress figures",
                f"{1000 * (time.perf_counter() - started):.0f} ms, {statements} queries "
                f"(matched {progress.matched:,}, told {progress.told:,})",
            )
        )
        rows.append(("load average after", machine_load()))

        self.stdout.write("\n| measure | value |\n|---|---|")
        for label, value in rows:
            self.stdout.write(f"| {label} | {value} |")
        if options["keep"]:
            self.stdout.write(f"\n--keep: the generated rows stay (shop {BENCH_CODE}); the next run needs --yes.")
        else:
            tables_empty(tables)
            bench_delete()
            self.stdout.write("\nCleaned up: the ticket tables are empty and the benchmark's orders are gone.")
