"""``manage.py bench_incident``: how fast an incident over many orders opens its tickets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench python manage.py bench_incident --orders 50000

Seeds ``--orders`` matching orders (benchmarks.incident_data: on PostgreSQL one ``INSERT … SELECT
generate_series`` per table), declares a carrier delay over them, previews it and starts it with the code the admin
and the Celery task run (incidents.services): ``incident_start``, then ``incident_open_tickets`` in this process (one
worker; the task's chunks, ``KEFU_INCIDENT_CHUNK_SIZE`` orders per transaction under the incident's row lock). It
reports tickets opened per second, SQL statements and worker CPU per ticket, that every order got exactly one
ticket, what a second run (the re-scan of a finished incident) costs, and moving every ticket's deadline at once
(``incident_deadlines_extend``). Then every buyer is told with the code the telling task runs
(``incidents.messaging.incident_tell_batch``, the shop reaching its buyers by SMS through the outbox), the rate
lifted so that batches follow each other: one worker's capacity; the time until every buyer is told is the longer
of that and the incident's rate (``KEFU_INCIDENT_MESSAGES_PER_MINUTE`` buyers a minute). ``bench_incident_tell``
looks at the telling alone in more detail.

Destructive: the ticket tables (``tickets_ticket`` and everything referencing it) are emptied before and after
(``--keep`` leaves the rows); a database that already holds tickets needs ``--yes``. Other databases than
PostgreSQL take at most 5,000 orders.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from benchmarks.incident_data import (
    BENCH_CODE,
    bench_delete,
    incident_make,
    orders_seed,
    shop_make,
)
from benchmarks.scratch import database_description, machine_load, tables_empty, tables_refuse_unless, ticket_tables
from incidents.messaging import incident_tell_batch
from incidents.models import Incident, IncidentTicket
from incidents.scope import incident_preview
from incidents.services import incident_deadlines_extend, incident_open_tickets, incident_start
from notifications.models import ShopChannels
from tickets.actors import Actor
from tickets.models import Ticket

MAX_WITHOUT_POSTGRES = 5_000
UNBOUNDED = 1_000_000_000  # buyers a minute: the capacity run is bound by the worker, not the rate


class Command(BaseCommand):
    help = (
        "Benchmark of an incident: seeds N matching orders (50,000 by default) in a scratch database, starts a "
        "carrier delay over them and times the opening of one ticket per order. Empties the ticket tables."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=50_000, help="matching orders to seed (default 50,000)")
        parser.add_argument("--chunk", type=int, default=None, help="orders per transaction (KEFU_INCIDENT_CHUNK_SIZE)")
        parser.add_argument("--keep", action="store_true", help="leave the generated rows in the database")
        parser.add_argument("--yes", action="store_true", help="empty the ticket tables even if they hold tickets")

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["orders"]
        if n < 1:
            raise CommandError("--orders must be at least 1.")
        if connection.vendor != "postgresql" and n > MAX_WITHOUT_POSTGRES:
            raise CommandError(
                f"bench_incident needs PostgreSQL for more than {MAX_WITHOUT_POSTGRES:,} orders (this database is "
                f"{connection.vendor}): DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench."
            )
        tables = ticket_tables()
        if tables_refuse_unless("bench_incident", tables, yes=options["yes"]):
            self.stderr.write(self.style.WARNING(f"WARNING: --yes given: emptying {', '.join(tables)}."))
        tables_empty(tables)
        bench_delete()

        rows: list[tuple[str, str]] = [("database", database_description()), ("load average before", machine_load())]
        started = time.perf_counter()
        shop = shop_make()
        # The buyers are reached by SMS: each opening's and each notice's message is an outbox row, as in a shop.
        ShopChannels.objects.update_or_create(shop=shop, defaults={"webhook": False, "sms": True, "email": False})
        orders_seed(shop, n=n, now=timezone.now())
        rows.append(("orders seeded", f"{n:,} in {time.perf_counter() - started:.1f} s"))

        incident = incident_make(shop, n=n)
        started = time.perf_counter()
        preview = incident_preview(incident)
        rows.append(
            (
                "preview",
                f"{preview.orders:,} orders, {preview.buyers:,} buyers, {len(preview.sample)} shown, in "
                f"{1000 * (time.perf_counter() - started):.0f} ms",
            )
        )
        actor = Actor.system("benchmark")
        incident_start(incident, actor)
        incident.refresh_from_db()

        statements = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        wall, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count):
            result = incident_open_tickets(incident, chunk_size=options["chunk"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        opened = max(result.opened, 1)
        rows += [
            (
                "tickets opened",
                f"{result.opened:,} in {wall:.1f} s = {result.opened / wall:,.0f} tickets/s with one worker "
                f"({1000 * wall / opened:.1f} ms per ticket)",
            ),
            ("worker CPU", f"{1000 * cpu / opened:.1f} ms per ticket in this process"),
            ("SQL statements", f"{statements / opened:.1f} per ticket (savepoints included, commits not)"),
            ("linked, flagged, skipped", f"{result.linked:,}, {result.flagged:,}, {len(result.skipped):,}"),
            ("exactly one ticket per order", self._one_each(incident.pk, n)),
        ]

        started = time.perf_counter()
        again = incident_open_tickets(incident, chunk_size=options["chunk"])
        rows.append(
            (
                "second run (re-scan, nothing new)",
                f"{again.opened} opened in {1000 * (time.perf_counter() - started):.0f} ms",
            )
        )

        started = time.perf_counter()
        extended = incident_deadlines_extend(incident, timedelta(hours=24), actor)
        took = time.perf_counter() - started
        rows.append(
            (
                "deadlines moved by 24 h",
                f"{extended.extended:,} tickets in {took:.1f} s "
                f"({extended.extended / max(took, 1e-9):,.0f} tickets/s), {extended.capped} capped",
            )
        )
        rows += self._tell(incident, n)
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

    def _tell(self, incident: Incident, n: int) -> list[tuple[str, str]]:
        """Every buyer told back to back (the rate lifted): one worker's capacity, then the time at the rate."""
        rate = incident.messages_per_minute
        Incident.objects.filter(pk=incident.pk).update(messages_per_minute=UNBOUNDED)
        told = 0
        wall = time.perf_counter()
        while True:
            run = incident_tell_batch(incident_id=incident.pk)
            told += run.told
            if not run.left or not run.told:
                break
        wall = time.perf_counter() - wall
        Incident.objects.filter(pk=incident.pk).update(messages_per_minute=rate)
        at_rate = n / rate * 60
        return [
            (
                "buyers told, rate lifted",
                f"{told:,} in {wall:.1f} s = {told / max(wall, 1e-9):,.0f} buyers/s, one worker",
            ),
            (
                f"every buyer told at {rate:,} a minute",
                f"{max(at_rate, wall) / 60:,.1f} min after the tickets were opened (the rate: {at_rate / 60:,.1f} "
                f"min; one worker's capacity: {wall / 60:,.1f} min)",
            ),
        ]

    def _one_each(self, incident_id: int, n: int) -> str:
        links = IncidentTicket.objects.filter(incident_id=incident_id).count()
        tickets = Ticket.objects.filter(shop__code=BENCH_CODE).count()
        doubled = (
            Ticket.objects.filter(shop__code=BENCH_CODE).values("order_id").annotate(n=Count("pk")).filter(n__gt=1)
        ).count()
        verdict = "yes" if links == tickets == n and doubled == 0 else "NO"
        return f"{verdict}: {links:,} affected orders, {tickets:,} tickets, {doubled} orders with more than one"
