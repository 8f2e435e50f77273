"""``manage.py bench_dashboard``: how fast the supervisors' dashboard reads a large desk (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench \\
        python manage.py bench_dashboard --tickets 1000000

Fills a scratch database with ``--tickets`` tickets of the four kinds (half returns, a fifth exchanges,
complaints and logistics exceptions the rest) opened over ``--history-days`` days, newest last in the table as
in real life. A ticket is still open with the probability ``exp(-age / --open-days)`` (a recent backlog, the
history closed), in a random working state of its kind with that step's department and deadline (so some are
overdue now); the others are in an end state. Each has a ``created`` timeline entry and one to three entries
that ended a step, with the step's figures (state, department, deadline, duration, met), durations spread
around the step's deadline. Returns and exchanges have a reason and one line of their order; orders (one per
ten tickets) have two lines from a catalogue of 500 SKUs, a few of them far more popular. All of it is a
handful of ``INSERT … SELECT … FROM generate_series`` statements, then ``VACUUM ANALYZE`` (as autovacuum would
have done, so the visibility map allows index-only scans). The kinds' own tables (``tickets_returnticket``
and friends) are not filled: the dashboard reads only the shared ticket table.

It then times, with the code the page runs (``dashboard.selectors``), each query (median of ``--repeat``
runs, after one untimed run), prints each one's ``EXPLAIN (ANALYZE, BUFFERS)`` and the indexes it used,
times the whole page through the test client for both periods (with its query count), and the same queries
once more with the indexes as they were before the dashboard (``ticket_open_idx`` and
``ticket_created_kind_idx`` dropped, ``ticket_event_step_idx`` without the columns it covers now), inside a
transaction that is rolled back (the "before" figures): what the dashboard's indexes are worth.

Destructive: the ticket tables (``tickets_ticket`` and everything referencing it) are emptied before and after
(``TRUNCATE … CASCADE``), and the benchmark's shop, buyers and orders deleted (``--keep`` leaves them). A
database that already holds tickets needs ``--yes``. docs/performance.md ("Dashboard") has the figures.
"""

from __future__ import annotations

import functools
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from benchmarks.dashboard_data import fixture_delete, generate
from benchmarks.scratch import (
    database_description,
    explain,
    machine_load,
    postgres_connection,
    tables_empty,
    tables_refuse_unless,
    ticket_tables,
)
from dashboard import selectors
from orders.models import Shop
from tickets.models import Ticket

BENCH_CODE = "bench-dashboard"
NUMBER_PREFIX = "DSB"
SKUS = 500
TICKETS_PER_ORDER = 10
# Kind shares (cumulative): returns, exchanges, complaints, logistics exceptions.
KIND_SHARES = (("return", 0.50), ("exchange", 0.70), ("complaint", 0.85), ("logistics", 1.0))
# A step's duration is its deadline × random() × this factor per department: the share met is 1 / factor.
DEPARTMENT_PACE = {"operations": 1.1, "warehouse": 1.3, "logistics": 1.2, "supervisors": 1.05, "": 1.5}
# The indexes as they were before the dashboard's migrations (tickets 0004 and 0005).
INDEXES_BEFORE = (
    "DROP INDEX ticket_open_idx",
    "DROP INDEX ticket_created_kind_idx",
    "DROP INDEX ticket_event_step_idx",
    "CREATE INDEX ticket_event_step_idx ON tickets_ticketevent (created_at, step_department) "
    "WHERE step_seconds IS NOT NULL",
)


@dataclass(frozen=True)
class Query:
    name: str
    run: Callable[[], Any]


@dataclass(frozen=True)
class Timed:
    name: str
    median_ms: float
    min_ms: float
    max_ms: float
    rows: int
    sql: str
    params: Any
    statements: int


def executed(run: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """``run()``'s result and the statements it executed with their parameters (whatever DEBUG is: Django's
    query log stops growing at 9,000 entries, so counting through it would report 0 late in a long run)."""
    statements: list[tuple[str, Any]] = []

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        result = run()
    return result, statements


class Command(BaseCommand):
    help = (
        "Benchmark of the supervisors' dashboard on PostgreSQL: generates N tickets with their timelines, lines "
        "and orders in a scratch database, times each dashboard query (with EXPLAIN) and the whole page, with "
        "with the indexes as before the dashboard. Empties the ticket tables before and after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to generate (default 1,000,000)")
        parser.add_argument("--history-days", type=int, default=180, help="days the tickets were opened over (180)")
        parser.add_argument(
            "--open-days", type=float, default=7.0, help="a ticket of age a days is open with probability exp(-a/this)"
        )
        parser.add_argument("--repeat", type=int, default=7, help="timed runs per query; the median is reported")
        parser.add_argument("--seed", type=int, default=42, help="seed of the generated spread (default 42)")
        parser.add_argument("--keep", action="store_true", help="leave the generated rows in the database")
        parser.add_argument(
            "--reuse",
            action="store_true",
            help="measure the rows an earlier run left (--keep, or a run that stopped) instead of generating",
        )
        parser.add_argument(
            "--yes", action="store_true", help="empty the ticket tables even though they hold tickets already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["tickets"]
        repeat: int = options["repeat"]
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_dashboard needs PostgreSQL (generate_series, EXPLAIN ANALYZE, the partial index). Use a "
                "scratch database: createdb -h 127.0.0.1 -U postgres kefu_bench, then "
                "DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench python manage.py migrate and run this "
                "command with the same DATABASE_URL. Its ticket tables are emptied."
            )
        if n < 1 or repeat < 1 or options["history_days"] < 1 or options["open_days"] <= 0:
            raise CommandError("--tickets, --repeat, --history-days and --open-days must be positive.")
        tables = ticket_tables()
        rows: list[tuple[str, str]] = [("database", database_description()), ("load average before", machine_load())]
        now = timezone.now()
        if options["reuse"]:
            shop = Shop.objects.filter(code=BENCH_CODE).first()
            n = Ticket.objects.filter(shop=shop).count() if shop else 0
            if not n:
                raise CommandError(f"--reuse: no tickets of a shop {BENCH_CODE} here; run without --reuse first.")
            rows += self._describe(n=n, now=now, generated=None)
        else:
            tables_refuse_unless("bench_dashboard", tables, yes=options["yes"])
            tables_empty(tables)
            fixture_delete(Shop.objects.filter(code=BENCH_CODE).first())
            started = time.perf_counter()
            shop = generate(
                n=n, now=now, history_days=options["history_days"], open_days=options["open_days"], seed=options["seed"]
            )
            rows += self._describe(n=n, now=now, generated=time.perf_counter() - started)

        queries = self._queries(now)
        timed = [self._time(q, repeat=repeat) for q in queries]
        plans = {t.name: explain(t.sql, t.params) for t in timed}
        before = self._time_with_indexes_before(queries, repeat=max(1, min(repeat, 3)))
        for t in timed:
            rows.append(
                (
                    f"query: {t.name}",
                    f"median {t.median_ms:.1f} ms (min {t.min_ms:.1f}, max {t.max_ms:.1f}; {repeat} runs), "
                    f"{t.rows} rows, {t.statements} {'query' if t.statements == 1 else 'queries'}; "
                    f"indexes: {', '.join(self._indexes(plans[t.name])) or 'none (sequential scan)'}; "
                    f"with the indexes before the dashboard: {before[t.name]:.1f} ms",
                )
            )
        rows.append(("queries, all together", f"{sum(t.median_ms for t in timed):.1f} ms (sum of the medians)"))
        rows += self._time_page(repeat=repeat)
        rows.append(("load average after", machine_load()))

        for t in timed:
            self.stdout.write(f"\nEXPLAIN (ANALYZE, BUFFERS) of {t.name}:\n{plans[t.name]}")
        heaviest = max(timed, key=lambda t: t.median_ms)
        # compose_sql, not cursor.mogrify: server-side binding cursors (kefu's default on PostgreSQL) have none.
        sql = postgres_connection().ops.compose_sql(heaviest.sql, heaviest.params)
        self.stdout.write(f"\nThe heaviest query is {heaviest.name}: {heaviest.median_ms:.1f} ms.\nIts SQL:\n{sql}")
        self.stdout.write("\n| measure | value |\n|---|---|")
        for label, value in rows:
            self.stdout.write(f"| {label} | {value} |")

        if options["keep"]:
            self.stdout.write(f"\n--keep: the generated rows stay (shop {BENCH_CODE}); the next run needs --yes.")
        else:
            tables_empty(tables)
            fixture_delete(shop)
            self.stdout.write("\nCleaned up: the ticket tables are empty again and the benchmark's orders are gone.")

    def _describe(self, *, n: int, now: datetime, generated: float | None) -> list[tuple[str, str]]:
        from tickets.models import TicketEvent, TicketLine

        open_ = Ticket.objects.filter(closed_at__isnull=True).count()
        overdue = Ticket.objects.filter(closed_at__isnull=True, step_due_at__lt=now).count()
        last_30 = Ticket.objects.filter(created_at__gte=now - timedelta(days=30)).count()
        events = TicketEvent.objects.count()
        steps = TicketEvent.objects.filter(step_seconds__isnull=False).count()
        steps_30 = TicketEvent.objects.filter(
            step_seconds__isnull=False, created_at__gte=now - timedelta(days=30)
        ).count()
        return [
            ("tickets created", f"{n:,}, opened over the history ({last_30:,} in the last 30 days)"),
            ("open now", f"{open_:,} ({100 * open_ / n:.1f} %), of which {overdue:,} overdue"),
            ("timeline entries", f"{events:,}, of which {steps:,} ended a step ({steps_30:,} in the last 30 days)"),
            ("ticket lines", f"{TicketLine.objects.count():,} (returns and exchanges), over {SKUS} SKUs"),
            (
                "generated in",
                f"{generated:.1f} s (INSERT … SELECT generate_series + VACUUM ANALYZE)"
                if generated is not None
                else "reused from an earlier run (--reuse)",
            ),
        ]

    # -- measuring -------------------------------------------------------------------------------------

    def _queries(self, now: datetime) -> list[Query]:
        week = selectors.period_bounds(days=7, now=now)
        month = selectors.period_bounds(days=30, now=now)
        return [
            Query("open tickets by kind, state, department (+ overdue)", lambda: selectors.open_tickets(now=now)),
            Query("SLA by department and state, 7 days", lambda: selectors.sla_figures(since=week[0], until=week[1])),
            Query(
                "SLA by department and state, 30 days", lambda: selectors.sla_figures(since=month[0], until=month[1])
            ),
            Query("tickets per day and kind, 30 days", lambda: selectors.volume_by_day(now=now)),
            Query("top reasons by SKU, 7 days", lambda: selectors.top_reasons_by_sku(since=week[0], until=week[1])),
            Query("top reasons by SKU, 30 days", lambda: selectors.top_reasons_by_sku(since=month[0], until=month[1])),
            Query("department names", selectors.department_names),
        ]

    def _time(self, query: Query, *, repeat: int) -> Timed:
        """The selector's median time (all its statements); the first statement, the aggregate, is explained."""
        result, statements = executed(query.run)
        if not statements:
            raise CommandError(f"{query.name} ran no query.")
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            query.run()
            times.append(1000 * (time.perf_counter() - started))
        rows = len(result.by_state) + len(result.by_department) if hasattr(result, "by_state") else len(result)
        sql, params = statements[0]
        return Timed(query.name, statistics.median(times), min(times), max(times), rows, sql, params, len(statements))

    def _indexes(self, plan: str) -> list[str]:
        found = re.findall(r"(Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\w+)", plan)
        return sorted({f"{name} ({how.lower()})" for how, name in found})

    def _time_with_indexes_before(self, queries: list[Query], *, repeat: int) -> dict[str, float]:
        """Each query's median with the indexes as before the dashboard, in a transaction rolled back afterwards."""
        medians: dict[str, float] = {}

        class Rollback(Exception):
            pass

        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    for statement in INDEXES_BEFORE:
                        cursor.execute(statement)
                    cursor.execute("ANALYZE tickets_ticketevent")
                for query in queries:
                    query.run()
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        query.run()
                        times.append(1000 * (time.perf_counter() - started))
                    medians[query.name] = statistics.median(times)
                raise Rollback
        except Rollback:
            pass
        return medians

    def _time_page(self, *, repeat: int) -> list[tuple[str, str]]:
        """The whole page through the test client (middleware, session, queries, template), as a supervisor.

        Over HTTPS (production settings redirect plain HTTP), with plain static file storage: the manifest
        storage of production needs ``collectstatic``, and only changes the URLs the page links to.
        """
        get_user_model().objects.filter(username=f"{BENCH_CODE}-supervisor").delete()
        user = get_user_model().objects.create_superuser(f"{BENCH_CODE}-supervisor", password=None)
        client = Client()
        client.force_login(user)
        rows = []
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        for days in (7, 30):
            url = f"/admin/dashboard/?days={days}"
            with override_settings(STORAGES=storages):
                response, statements = executed(functools.partial(client.get, url, secure=True))
                if response.status_code != 200:
                    rows.append((f"whole page, {days} days", f"not measured: {url} answered {response.status_code}"))
                    continue
                times = []
                for _ in range(repeat):
                    started = time.perf_counter()
                    client.get(url, secure=True)
                    times.append(1000 * (time.perf_counter() - started))
            rows.append(
                (
                    f"whole page, {days} days",
                    f"median {statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f}; "
                    f"{repeat} runs), "
                    f"{len(statements)} SQL queries, {len(response.content) // 1024} KiB",
                )
            )
        return rows
