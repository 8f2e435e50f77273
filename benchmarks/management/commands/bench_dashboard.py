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
from orders.models import Buyer, Channel, Order, Shop
from tickets.models import ReasonCode, Ticket
from tickets.workflows import ticket_models
from tickets.workflows.steps import BUYER

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
            self._fixture_delete(Shop.objects.filter(code=BENCH_CODE).first())
            started = time.perf_counter()
            shop = self._generate(
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
            self._fixture_delete(shop)
            self.stdout.write("\nCleaned up: the ticket tables are empty again and the benchmark's orders are gone.")

    # -- setup and cleanup -----------------------------------------------------------------------------

    def _fixture_delete(self, shop: Shop | None) -> None:
        if shop is None:
            return
        Order.objects.filter(shop=shop).delete()  # and their lines
        Buyer.objects.filter(shop=shop).delete()
        shop.delete()
        get_user_model().objects.filter(username=f"{BENCH_CODE}-supervisor").delete()

    # -- generating ------------------------------------------------------------------------------------

    def _generate(self, *, n: int, now: datetime, history_days: int, open_days: float, seed: int) -> Shop:
        shop = Shop.objects.create(code=BENCH_CODE, name="Benchmark shop (dashboard)", channel=Channel.TMALL)
        orders = max(1, n // TICKETS_PER_ORDER)
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
            self._generate_orders(cursor, shop=shop, orders=orders, now=now, history_days=history_days)
            self._generate_tickets(
                cursor, shop=shop, n=n, orders=orders, now=now, history_days=history_days, open_days=open_days
            )
            self._generate_lines(cursor)
            self._generate_events(cursor)
        with connection.cursor() as cursor:
            for table in (
                "orders_buyer",
                "orders_order",
                "orders_orderline",
                "tickets_ticket",
                "tickets_ticketline",
                "tickets_ticketevent",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")
        return shop

    def _generate_orders(self, cursor: Any, *, shop: Shop, orders: int, now: datetime, history_days: int) -> None:
        """One buyer per order, orders paid over the history, two lines each from a skewed catalogue."""
        cursor.execute(
            """
            INSERT INTO orders_buyer (shop_id, external_id, name, phone, email, tier)
            SELECT %s, 'bench-' || g, 'Buyer ' || g, '', '', 'regular' FROM generate_series(1, %s) AS g
            """,
            [shop.pk, orders],
        )
        cursor.execute(
            """
            INSERT INTO orders_order (shop_id, buyer_id, number, status, paid_at, delivered_at, created_at, updated_at)
            SELECT %s, b.id, 'BENCH' || lpad(b.k::text, 9, '0'), 'delivered',
                   %s::timestamptz - (1 - b.k::float8 / %s) * %s * interval '1 day' - interval '3 days',
                   %s::timestamptz - (1 - b.k::float8 / %s) * %s * interval '1 day' - interval '1 day',
                   %s, %s
            FROM (SELECT row_number() OVER (ORDER BY id) AS k, id FROM orders_buyer WHERE shop_id = %s) AS b
            """,
            [shop.pk, now, orders, history_days, now, orders, history_days, now, now, shop.pk],
        )
        # SKU popularity: index floor(SKUS × r³), so the first SKUs are sent back far more often.
        cursor.execute(
            """
            INSERT INTO orders_orderline (order_id, sku, name, quantity, unit_price, paid_amount, refunded_amount)
            SELECT o.id, 'SKU-' || lpad(s.i::text, 4, '0'), 'Item ' || s.i, 1, 99, 99, 0
            FROM (SELECT id, floor(%s * power(random(), 3))::int AS a, floor(random() * (%s - 1))::int AS b
                  FROM orders_order WHERE shop_id = %s) AS o
            CROSS JOIN LATERAL (VALUES (o.a), (mod(o.a + 1 + o.b, %s))) AS s (i)
            """,
            [SKUS, SKUS, shop.pk, SKUS],
        )

    def _state_tables(self) -> tuple[str, list[Any], str, list[Any]]:
        """VALUES lists of each kind's working states (with department, waiting on, deadline) and end states,
        numbered per kind; from the kinds' ``STEPS`` tables, so the benchmark follows the code."""
        working: list[Any] = []
        ended: list[Any] = []
        working_rows = ended_rows = 0
        for kind, model in ticket_models().items():
            i = j = 0
            for state, step in model.STEPS.items():
                if step.owner:
                    department = None if step.owner == BUYER else step.owner
                    waiting = "buyer" if step.owner == BUYER else "merchant"
                    seconds = int(step.deadline.total_seconds()) if step.deadline else None
                    working += [kind, i, str(state), department, waiting, seconds]
                    i += 1
                    working_rows += 1
                else:
                    ended += [kind, j, str(state)]
                    j += 1
                    ended_rows += 1
        working_sql = ", ".join(["(%s::text, %s::int, %s::text, %s::text, %s::text, %s::int)"] * working_rows)
        ended_sql = ", ".join(["(%s::text, %s::int, %s::text)"] * ended_rows)
        return working_sql, working, ended_sql, ended

    def _kind_counts(self) -> tuple[str, list[Any]]:
        """A CASE giving the number of working states (a) and end states (b) of the row's kind."""
        parts: list[str] = []
        params: list[Any] = []
        for kind, model in ticket_models().items():
            working = sum(1 for step in model.STEPS.values() if step.owner)
            parts.append("WHEN %s THEN ARRAY[%s, %s]")
            params += [kind, working, len(model.STEPS) - working]
        return "CASE kind " + " ".join(parts) + " END", params

    def _generate_tickets(
        self, cursor: Any, *, shop: Shop, n: int, orders: int, now: datetime, history_days: int, open_days: float
    ) -> None:
        working_sql, working, ended_sql, ended = self._state_tables()
        counts_sql, counts = self._kind_counts()
        kinds = " ".join(f"WHEN r1 < {share} THEN '{kind}'" for kind, share in KIND_SHARES)
        # Reasons in their sort order, the first ones more often (index floor(count × r²)).
        reasons = list(ReasonCode.objects.filter(active=True).order_by("sort_order", "code").values_list("pk", "kinds"))
        return_reasons = [pk for pk, allowed in reasons if "return" in allowed]
        exchange_reasons = [pk for pk, allowed in reasons if "exchange" in allowed]
        sql = f"""
            WITH working (kind, i, state, department, waiting_on, deadline_s) AS (VALUES {working_sql}),
            ended (kind, i, state) AS (VALUES {ended_sql}),
            drawn AS (
                SELECT g, CASE {kinds} END AS kind, r2, r3, r4, r5,
                       %s::timestamptz - ((%s - g)::float8 / %s) * %s * interval '1 day'
                           - r6 * interval '1 hour' AS created_at
                FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
                             random() AS r6
                      FROM generate_series(1::bigint, %s) AS g) AS r
            ),
            decided AS (
                SELECT d.*, {counts_sql} AS n_states,
                       d.r2 < exp(-extract(epoch FROM %s::timestamptz - d.created_at) / 86400 / %s) AS is_open
                FROM drawn AS d
            ),
            placed AS (
                SELECT d.g, d.kind, d.created_at, d.is_open, d.r4, d.r5,
                       COALESCE(w.state, e.state) AS state, w.department,
                       COALESCE(w.waiting_on, 'nobody') AS waiting_on,
                       w.deadline_s,
                       CASE WHEN d.is_open
                            THEN d.created_at + d.r4 * (%s::timestamptz - d.created_at)
                            ELSE LEAST(%s::timestamptz, d.created_at + d.r4 * interval '10 days') END AS step_started
                FROM decided AS d
                LEFT JOIN working AS w
                       ON d.is_open AND w.kind = d.kind AND w.i = floor(d.r3 * d.n_states[1])::int
                LEFT JOIN ended AS e
                       ON NOT d.is_open AND e.kind = d.kind AND e.i = floor(d.r3 * d.n_states[2])::int
            )
            INSERT INTO tickets_ticket (
                number, kind, state, description, priority, department, waiting_on, step_started_at,
                step_department, step_due_at, due_at, warn_at, sla_breached, escalation_level, version,
                created_at, updated_at, closed_at, shop_id, order_id, buyer_id, reason_id)
            SELECT %s || lpad(p.g::text, 9, '0'), p.kind, p.state, '', 20, p.department, p.waiting_on,
                   p.step_started, COALESCE(p.department, ''),
                   p.step_started + p.deadline_s * interval '1 second',
                   p.step_started + p.deadline_s * interval '1 second',
                   NULL, FALSE, 0, 1, p.created_at, p.step_started,
                   CASE WHEN NOT p.is_open THEN p.step_started END,
                   %s, o.id, o.buyer_id,
                   CASE p.kind WHEN 'return' THEN (%s::bigint[])[1 + floor(%s * power(p.r5, 2))::int]
                               WHEN 'exchange' THEN (%s::bigint[])[1 + floor(%s * power(p.r5, 2))::int] END
            FROM placed AS p
            JOIN (SELECT row_number() OVER (ORDER BY id) AS k, id, buyer_id FROM orders_order WHERE shop_id = %s)
                 AS o ON o.k = 1 + mod(p.g * 7919, %s)
            ORDER BY p.g
        """  # noqa: S608 (only placeholders and the code's own constants are formatted in)
        params: list[Any] = [*working, *ended]
        params += [now, n, n, history_days, n]
        params += counts
        params += [now, open_days]
        params += [now, now]
        params += [
            NUMBER_PREFIX,
            shop.pk,
            return_reasons,
            len(return_reasons),
            exchange_reasons,
            len(exchange_reasons),
            shop.pk,
            orders,
        ]
        cursor.execute(sql, params)

    def _generate_lines(self, cursor: Any) -> None:
        """Returns and exchanges concern one of their order's two lines."""
        cursor.execute(
            """
            INSERT INTO tickets_ticketline (ticket_id, order_line_id, quantity, refunded_amount)
            SELECT t.id, l.id, 1, 0
            FROM tickets_ticket AS t
            JOIN (SELECT id, order_id, row_number() OVER (PARTITION BY order_id ORDER BY id) AS k
                  FROM orders_orderline) AS l ON l.order_id = t.order_id AND l.k = 1 + mod(t.id, 2)
            WHERE t.kind IN ('return', 'exchange')
            """
        )

    def _generate_events(self, cursor: Any) -> None:
        """A ``created`` entry per ticket, and one to three entries that ended a step, with its figures."""
        working_sql, working, _, _ = self._state_tables()
        counts_sql, counts = self._kind_counts()
        pace = " ".join("WHEN %s THEN %s" for _ in DEPARTMENT_PACE)
        pace_params = [v for code, factor in DEPARTMENT_PACE.items() for v in (code, factor)]
        cursor.execute(
            """
            INSERT INTO tickets_ticketevent (ticket_id, event_type, created_at, actor_kind, actor_name, transition,
                                             from_state, to_state, reason, public, payload, step_state,
                                             step_department)
            SELECT id, 'created', created_at, 'buyer', 'Benchmark', '', '', state, '', TRUE, '{}', '', ''
            FROM tickets_ticket
            """
        )
        sql = f"""
            WITH working (kind, i, state, department, waiting_on, deadline_s) AS (VALUES {working_sql}),
            tickets AS (
                SELECT id, kind, created_at, step_started_at AS last_at, {counts_sql} AS n_states,
                       1 + floor(random() * 3)::int AS steps
                FROM tickets_ticket
            ),
            steps AS (
                SELECT t.id, t.kind, t.n_states,
                       t.created_at + (t.last_at - t.created_at) * s.i / t.steps AS ended_at,
                       random() AS r1, random() AS r2
                FROM tickets AS t CROSS JOIN LATERAL generate_series(1, t.steps) AS s (i)
            ),
            figured AS (
                SELECT s.id, s.ended_at, w.state, COALESCE(w.department, '') AS department, w.deadline_s,
                       (COALESCE(w.deadline_s, 86400) * s.r2
                        * CASE COALESCE(w.department, '') {pace} ELSE 1.2 END)::bigint AS seconds
                FROM steps AS s
                JOIN working AS w ON w.kind = s.kind AND w.i = floor(s.r1 * s.n_states[1])::int
            )
            INSERT INTO tickets_ticketevent (ticket_id, event_type, created_at, actor_kind, actor_name, transition,
                                             from_state, to_state, reason, public, payload, step_state,
                                             step_department, step_started_at, step_due_at, step_seconds, step_met)
            SELECT id, 'transition', ended_at, 'staff', 'Benchmark', 'bench', state, 'next', '', TRUE, '{{}}',
                   state, department, ended_at - seconds * interval '1 second',
                   ended_at - seconds * interval '1 second' + deadline_s * interval '1 second', seconds,
                   CASE WHEN deadline_s IS NOT NULL THEN seconds <= deadline_s END
            FROM figured
        """  # noqa: S608 (only placeholders and the code's own constants are formatted in)
        cursor.execute(sql, [*working, *counts, *pace_params])

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
