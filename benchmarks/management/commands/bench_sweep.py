"""``manage.py bench_sweep``: how fast the deadline sweep finds and works off due tickets at scale.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench \\
        python manage.py bench_sweep --tickets 1000000 --due-percent 1 --process 10000

Fills the database with ``--tickets`` return tickets (on PostgreSQL one ``INSERT … SELECT … FROM
generate_series`` into ``tickets_ticket`` and one into ``tickets_returnticket``), states spread over the
kind's ``STEPS``, of which ``--due-percent`` % are overdue now, the other open ones due later and the ended
ones without a clock; then ``ANALYZE``. It measures, with the code the beat task runs:

(a) finding the due tickets: ``tickets.services.deadlines.due_ticket_ids`` (one sweep batch, and all of them),
    the median of ``--repeat`` runs, and the query's ``EXPLAIN (ANALYZE, BUFFERS)``: an index scan on
    ``ticket_due_idx``;
(b) working them off: ``tickets.services.deadlines.sweep_due`` called in this process (one worker) until
    ``--process`` due tickets were acted on, in tickets per second.

The due tickets are in states whose ``on_due`` is an automatic transition (``requested`` → approve,
``rejected``/``awaiting_return`` → expire) or an escalation (``received``, ``refund_pending``,
``arbitration``), half and half. ``return_in_transit`` (→ auto_refund) is given a future deadline only:
an automatic refund queues a payment task on the broker, which a benchmark must not send to real workers.

Destructive: the ticket tables (``tickets_ticket`` and everything referencing it) are emptied before and after
the run (``TRUNCATE … CASCADE``; ``--keep`` leaves the generated rows). Run it against a scratch database; one
that already holds tickets needs ``--yes``. Other databases than PostgreSQL (SQLite) take at most 20,000
tickets, generated row by row in Python. docs/performance.md ("Deadline sweep") has the figures.
"""

from __future__ import annotations

import inspect
import statistics
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks.scratch import (
    database_description,
    explain,
    machine_load,
    tables_empty,
    tables_refuse_unless,
    ticket_tables,
)
from benchmarks.sweep_data import (
    BENCH_CODE,
    due_plans,
    fixture_delete,
    fixture_make,
    generate_children,
    generate_python,
    generate_sql,
    state_plans,
)
from tickets.models import EventType, Ticket, TicketEvent
from tickets.services.deadlines import SWEEP_ACTOR, SweepResult, due_ticket_ids, sweep_due

MAX_WITHOUT_POSTGRES = 20_000
SWEEP_BATCH: int = inspect.signature(sweep_due).parameters["batch"].default


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    statements: int


class Command(BaseCommand):
    help = (
        "Benchmark of the deadline sweep: generates N return tickets (1 %% due by default) in a scratch "
        "database, times finding the due ones (with EXPLAIN) and processing them with one worker. "
        "Empties the ticket tables before and after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=1_000_000, help="tickets to generate (default 1,000,000)")
        parser.add_argument("--due-percent", type=float, default=1.0, help="share due now, in %% (default 1)")
        parser.add_argument(
            "--process", type=int, default=10_000, help="due tickets to work off with one worker (default 10,000)"
        )
        parser.add_argument("--repeat", type=int, default=7, help="runs of the find query; the median is reported")
        parser.add_argument("--seed", type=int, default=42, help="seed of the generated spread (default 42)")
        parser.add_argument("--keep", action="store_true", help="leave the generated rows in the database")
        parser.add_argument(
            "--yes", action="store_true", help="empty the ticket tables even though they hold tickets already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["tickets"]
        percent: float = options["due_percent"]
        repeat: int = options["repeat"]
        postgres = connection.vendor == "postgresql"
        if n < 1:
            raise CommandError("--tickets must be at least 1.")
        if not 0 < percent <= 100:
            raise CommandError("--due-percent must be above 0 and at most 100.")
        if options["process"] < 0 or repeat < 1:
            raise CommandError("--process must be 0 or more and --repeat at least 1.")
        if not postgres and n > MAX_WITHOUT_POSTGRES:
            raise CommandError(
                f"bench_sweep needs PostgreSQL for more than {MAX_WITHOUT_POSTGRES:,} tickets (this database is "
                f"{connection.vendor}). Use a scratch database, e.g. createdb -h 127.0.0.1 -U postgres kefu_bench, "
                "then DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench python manage.py migrate and run "
                "this command with the same DATABASE_URL. Its ticket tables are emptied."
            )
        due = max(1, round(n * percent / 100))
        process = min(options["process"], due)
        tables = ticket_tables()
        if tables_refuse_unless("bench_sweep", tables, yes=options["yes"]):
            self.stderr.write(
                self.style.WARNING(
                    f"WARNING: --yes given: emptying {', '.join(tables)} of {connection.settings_dict['NAME']}."
                )
            )
        tables_empty(tables)

        rows: list[tuple[str, str]] = [
            ("database", database_description()),
            ("load average before", machine_load()),
            ("tickets created", f"{n:,}"),
        ]
        fixture = fixture_make()
        now = timezone.now()
        started = time.perf_counter()
        if postgres:
            generate_sql(fixture, n=n, due=due, now=now, seed=options["seed"])
        else:
            generate_python(fixture, n=n, due=due, now=now, seed=options["seed"])
        generate_children()
        with connection.cursor() as cursor:
            for table in ("tickets_ticket", "tickets_returnticket"):
                cursor.execute(f"ANALYZE {table}")
        generated = time.perf_counter() - started
        clocked = Ticket.objects.filter(due_at__isnull=False).count()
        due_now = Ticket.objects.filter(due_at__lte=now).count()
        states = ", ".join(p.state for p in due_plans(state_plans()))
        rows += [
            ("with a running clock", f"{clocked:,} (in ticket_due_idx); the rest ended"),
            ("due now", f"{due_now:,} ({100 * due_now / n:.2f} %), in {states}"),
            (
                "generated in",
                f"{generated:.1f} s ({'INSERT … SELECT generate_series' if postgres else 'bulk_create'} + ANALYZE)",
            ),
        ]

        plans = []
        for label, limit in ((f"one sweep batch, LIMIT {SWEEP_BATCH}", SWEEP_BATCH), (f"all due, LIMIT {due}", due)):
            found, times, sql = self._time_find(now=now, limit=limit, repeat=repeat)
            rows.append(
                (
                    f"find due: {label}",
                    f"median {1000 * statistics.median(times):.1f} ms (min "
                    f"{1000 * min(times):.1f}, max {1000 * max(times):.1f}; {repeat} runs), {found:,} rows",
                )
            )
            plans.append((label, explain(sql)))
        index_scan = all("ticket_due_idx" in plan for _, plan in plans)
        rows.append(
            (
                "index",
                "ticket_due_idx"
                if index_scan
                else "not ticket_due_idx (see the plans; at a small size a sequential scan is cheaper)",
            )
        )

        if process:
            result, timing = self._time_process(now=now, target=process)
            once = self._acted_once()
            acted = max(result.acted, 1)
            rows += [
                ("processed", f"{result.acted:,} of {process:,} asked, with one worker (sweep_due in-process)"),
                (
                    "processing time",
                    f"{timing.wall:.1f} s = {result.acted / timing.wall:,.0f} tickets/s "
                    f"({1000 * timing.wall / acted:.1f} ms per ticket)",
                ),
                (
                    "worker CPU",
                    f"{1000 * timing.cpu / acted:.1f} ms per ticket in this process (the rest of the "
                    "time: PostgreSQL, commits, other work on the machine)",
                ),
                (
                    "SQL statements",
                    f"{timing.statements / acted:.1f} per ticket (queries and savepoints; commits not counted)",
                ),
                (
                    "outcomes",
                    f"{result.transitioned:,} transitioned, {result.escalated:,} escalated, "
                    f"{result.skipped:,} skipped, {len(result.errors):,} errors"
                    + (f", {result.postponed:,} postponed" if result.postponed else ""),
                ),
                ("acted on once", once),
                ("still due", f"{Ticket.objects.filter(due_at__lte=now).count():,}"),
            ]
            for error in result.errors[:5]:
                self.stderr.write(f"sweep error: {error}")

        rows.append(("load average after", machine_load()))
        how = "EXPLAIN (ANALYZE, BUFFERS)" if postgres else "EXPLAIN QUERY PLAN"
        for label, plan in plans:
            self.stdout.write(f"\n{how} of due_ticket_ids, {label}:\n{plan}")
        self.stdout.write("\n| measure | value |\n|---|---|")
        for label, value in rows:
            self.stdout.write(f"| {label} | {value} |")
        if not index_scan:
            self.stderr.write(self.style.WARNING("The due query did not use ticket_due_idx."))

        if options["keep"]:
            self.stdout.write(f"\n--keep: the generated rows stay (shop {BENCH_CODE}); the next run needs --yes.")
        else:
            tables_empty(tables)
            fixture_delete()
            self.stdout.write("\nCleaned up: the ticket tables are empty again and the benchmark's order is gone.")

    # -- measuring -------------------------------------------------------------------------------------

    def _time_find(self, *, now: datetime, limit: int, repeat: int) -> tuple[int, list[float], str]:
        """Runs of the sweep's own query; the first (untimed) warms the cache and gives its SQL."""
        with CaptureQueriesContext(connection) as captured:
            found = len(due_ticket_ids(now=now, limit=limit))
        sql = captured.captured_queries[-1]["sql"]
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            due_ticket_ids(now=now, limit=limit)
            times.append(time.perf_counter() - started)
        return found, times, sql

    def _time_process(self, *, now: datetime, target: int) -> tuple[SweepResult, Timing]:
        """``sweep_due`` one batch at a time (as the beat task runs it) until ``target`` tickets were acted on."""
        total = SweepResult()
        statements = 0

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal statements
            statements += 1
            return execute(sql, params, many, context)

        wall, cpu = time.perf_counter(), time.process_time()
        with connection.execute_wrapper(count):
            while total.acted < target:
                result = sweep_due(now=now, batch=min(SWEEP_BATCH, target - total.acted), max_batches=1)
                total.transitioned += result.transitioned
                total.escalated += result.escalated
                total.warned += result.warned
                total.postponed += result.postponed
                total.skipped += result.skipped
                total.errors += result.errors
                if result.acted == 0 and result.postponed == 0:
                    break
        timing = Timing(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu, statements=statements)
        return total, timing

    def _acted_once(self) -> str:
        """Timeline check: every ticket the sweep acted on has exactly one entry by it."""
        entries = TicketEvent.objects.filter(
            actor_name=SWEEP_ACTOR, event_type__in=[EventType.TRANSITION, EventType.ESCALATION]
        )
        twice = entries.values("ticket_id").annotate(n=Count("pk")).filter(n__gt=1).count()
        return f"{entries.count():,} timeline entries by the sweep, {twice} tickets with more than one"
