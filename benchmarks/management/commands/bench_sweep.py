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
import random
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
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
from kefu.core.vocabulary import ReturnState
from orders.models import Buyer, Channel, Order, OrderLine, OrderStatus, Shop
from routing.models import Department, StaffMember
from tickets.models import EventType, ReasonCode, ReturnTicket, Ticket, TicketEvent, WaitingOn
from tickets.services.deadlines import SWEEP_ACTOR, SweepResult, due_ticket_ids, sweep_due
from tickets.workflows.steps import BUYER

MAX_WITHOUT_POSTGRES = 20_000
BENCH_CODE = "bench-sweep"
NUMBER_PREFIX = "RTB"
AMOUNT = Decimal("99.00")
# How far past their deadline the due tickets are (spread evenly), and where the others' deadlines start.
OVERDUE_SPREAD = timedelta(hours=48)
FUTURE_MARGIN = timedelta(hours=1)
CLOSED_SPREAD = timedelta(days=30)
CREATED_SPREAD = timedelta(days=7)
WARN_SHARE = 0.8
# Its transition queues a payment task on commit (see the module docstring): never due in the benchmark.
NOT_DUE_STATES = frozenset({ReturnState.RETURN_IN_TRANSIT})
APPROVED_STATES = (ReturnState.REFUND_PENDING, ReturnState.REFUNDED)
GOODS_BACK_STATES = (ReturnState.RECEIVED, ReturnState.REFUND_PENDING, ReturnState.REFUNDED)
SWEEP_BATCH: int = inspect.signature(sweep_due).parameters["batch"].default


@dataclass(frozen=True)
class StatePlan:
    """One state of the generated tickets: who owns it, its clock, and its place in the two pick lists."""

    index: int
    state: str
    department: str | None
    waiting_on: str
    deadline: timedelta | None
    on_due: str | None

    @property
    def is_end(self) -> bool:
        return self.deadline is None


def state_plans() -> list[StatePlan]:
    """Every return state, from ``ReturnTicket.STEPS`` (so the benchmark follows the code's table)."""
    plans = []
    for index, state in enumerate(ReturnState.values):
        step = ReturnTicket.STEPS[state]
        if not step.owner:
            department, waiting_on = None, WaitingOn.NOBODY
        elif step.owner == BUYER:
            department, waiting_on = None, WaitingOn.BUYER
        else:
            department, waiting_on = step.owner, WaitingOn.MERCHANT
        plans.append(StatePlan(index, state, department, str(waiting_on), step.deadline, step.on_due))
    return plans


def due_plans(plans: Sequence[StatePlan]) -> list[StatePlan]:
    return [p for p in plans if p.on_due and p.state not in NOT_DUE_STATES]


def is_due_row(g: int, n: int, due: int) -> bool:
    """Exactly ``due`` of the rows 1..n, evenly spread; row g is the ``g * due // n``-th due one (the SQL path
    computes the same), which picks its state round robin over the due states.
    """
    return (g * due) // n != ((g - 1) * due) // n


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    statements: int


@dataclass(frozen=True)
class Fixture:
    shop: Shop
    buyer: Buyer
    order: Order
    reason_id: int | None


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
        fixture = self._fixture()
        now = timezone.now()
        started = time.perf_counter()
        if postgres:
            self._generate_sql(fixture, n=n, due=due, now=now, seed=options["seed"])
        else:
            self._generate_python(fixture, n=n, due=due, now=now, seed=options["seed"])
        self._generate_children()
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
            self._fixture_delete()
            self.stdout.write("\nCleaned up: the ticket tables are empty again and the benchmark's order is gone.")

    # -- setup and cleanup -----------------------------------------------------------------------------

    def _fixture(self) -> Fixture:
        """One shop, buyer, order and line every generated ticket concerns; two on-duty supervisors."""
        shop, _ = Shop.objects.get_or_create(
            code=BENCH_CODE, defaults={"name": "Benchmark shop", "channel": Channel.TMALL}
        )
        buyer, _ = Buyer.objects.get_or_create(shop=shop, external_id=BENCH_CODE, defaults={"name": "Benchmark"})
        now = timezone.now()
        order, _ = Order.objects.get_or_create(
            shop=shop,
            number=BENCH_CODE,
            defaults={
                "buyer": buyer,
                "status": OrderStatus.DELIVERED,
                "paid_at": now - timedelta(days=3),
                "delivered_at": now - timedelta(days=1),
            },
        )
        OrderLine.objects.get_or_create(
            order=order,
            sku=BENCH_CODE,
            defaults={"name": "Benchmark item", "quantity": 1, "unit_price": AMOUNT, "paid_amount": AMOUNT},
        )
        # Escalations route to supervisors and pick one of them (with the default cap, like a full desk).
        supervisors = Department.objects.filter(code="supervisors").first()
        for i in (1, 2):
            user, _ = get_user_model().objects.get_or_create(username=f"{BENCH_CODE}-supervisor-{i}")
            member, _ = StaffMember.objects.get_or_create(user=user)
            if supervisors is not None:
                member.departments.add(supervisors)
        reason = ReasonCode.objects.filter(code="seven_days_no_reason").values_list("pk", flat=True).first()
        return Fixture(shop=shop, buyer=buyer, order=order, reason_id=reason)

    def _fixture_delete(self) -> None:
        Order.objects.filter(shop__code=BENCH_CODE).delete()
        Buyer.objects.filter(shop__code=BENCH_CODE).delete()
        Shop.objects.filter(code=BENCH_CODE).delete()
        get_user_model().objects.filter(username__startswith=f"{BENCH_CODE}-supervisor-").delete()

    # -- generating ------------------------------------------------------------------------------------

    def _generate_sql(self, fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> None:
        """Base rows in one statement. Per row g: due or not (evenly spread), a state (due ones round robin over
        the due states, the others at random over all states), a clock as in ``_python_rows``.
        """
        plans = state_plans()
        due_map = [p.index for p in due_plans(plans)]
        values = ", ".join(["(%s::int, %s::text, %s::text, %s::text, %s::int)"] * len(plans))
        params: list[Any] = []
        for p in plans:
            params += [
                p.index,
                p.state,
                p.department,
                p.waiting_on,
                int(p.deadline.total_seconds()) if p.deadline else None,
            ]
        sql = f"""
            WITH states (si, state, department, waiting_on, deadline_s) AS (VALUES {values}),
            picked AS (
                SELECT g, due, r2, r3,
                       CASE WHEN due THEN (%s::int[])[(1 + mod((g * %s) / %s, %s))::int]
                            ELSE floor(r1 * %s)::int END AS si
                FROM (SELECT g, (g * %s) / %s <> ((g - 1) * %s) / %s AS due,
                             random() AS r1, random() AS r2, random() AS r3
                      FROM generate_series(1::bigint, %s) AS g) AS r
            ),
            clocked AS (
                SELECT p.g, p.r2, p.r3, s.state, s.department, s.waiting_on, s.si,
                       s.deadline_s * interval '1 second' AS deadline,
                       CASE WHEN s.deadline_s IS NULL THEN NULL
                            WHEN p.due THEN %s::timestamptz - interval '1 second' - p.r2 * %s::interval
                            ELSE %s::timestamptz + %s::interval
                                 + p.r2 * (s.deadline_s * interval '1 second' - %s::interval)
                       END AS due_at
                FROM picked AS p JOIN states AS s USING (si)
            ),
            timed AS (
                SELECT c.*, COALESCE(c.due_at - c.deadline, %s::timestamptz - c.r2 * %s::interval) AS started
                FROM clocked AS c
            )
            INSERT INTO tickets_ticket (
                number, kind, state, description, priority, department, waiting_on, step_started_at,
                step_department, step_due_at, due_at, warn_at, sla_breached, escalation_level, version,
                created_at, updated_at, closed_at, shop_id, order_id, buyer_id, reason_id)
            SELECT %s || lpad(g::text, 9, '0'), 'return', state, '', 20, department, waiting_on, started,
                   COALESCE(department, ''), due_at, due_at,
                   CASE WHEN started + %s * deadline > %s::timestamptz THEN started + %s * deadline END,
                   FALSE, 0, si, started - r3 * %s::interval, started,
                   CASE WHEN due_at IS NULL THEN started END,
                   %s, %s, %s, %s
            FROM timed
        """  # noqa: S608 (only placeholders are formatted in)
        params += [due_map, due, n, len(due_map), len(plans), due, n, due, n, n]
        params += [now, OVERDUE_SPREAD, now, FUTURE_MARGIN, FUTURE_MARGIN]
        params += [now, CLOSED_SPREAD]
        params += [NUMBER_PREFIX, WARN_SHARE, now, WARN_SHARE, CREATED_SPREAD]
        params += [fixture.shop.pk, fixture.order.pk, fixture.buyer.pk, fixture.reason_id]
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
            cursor.execute(sql, params)

    def _generate_python(self, fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> None:
        Ticket.objects.bulk_create(self._python_rows(fixture, n=n, due=due, now=now, seed=seed), batch_size=1000)

    def _python_rows(self, fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> Iterator[Ticket]:
        """The same spread as ``_generate_sql``, row by row (small sizes, databases without generate_series)."""
        plans = state_plans()
        due_list = due_plans(plans)
        rng = random.Random(seed)  # noqa: S311 (a reproducible spread, not a secret)
        for g in range(1, n + 1):
            r1, r2, r3 = rng.random(), rng.random(), rng.random()
            row_due = is_due_row(g, n, due)
            plan = due_list[(g * due // n) % len(due_list)] if row_due else plans[int(r1 * len(plans))]
            warn_at = closed_at = due_at = None
            if plan.deadline is None:
                started = closed_at = now - r2 * CLOSED_SPREAD
            else:
                if row_due:
                    due_at = now - timedelta(seconds=1) - r2 * OVERDUE_SPREAD
                else:
                    due_at = now + FUTURE_MARGIN + r2 * (plan.deadline - FUTURE_MARGIN)
                started = due_at - plan.deadline
                if started + WARN_SHARE * plan.deadline > now:
                    warn_at = started + WARN_SHARE * plan.deadline
            yield Ticket(
                number=f"{NUMBER_PREFIX}{g:09d}",
                kind="return",
                state=plan.state,
                priority=20,
                department=plan.department,
                waiting_on=plan.waiting_on,
                step_started_at=started,
                step_department=plan.department or "",
                step_due_at=due_at,
                due_at=due_at,
                warn_at=warn_at,
                version=plan.index,
                created_at=started - r3 * CREATED_SPREAD,
                updated_at=started,
                closed_at=closed_at,
                shop_id=fixture.shop.pk,
                order_id=fixture.order.pk,
                buyer_id=fixture.buyer.pk,
                reason_id=fixture.reason_id,
            )

    def _generate_children(self) -> None:
        """The kind's own row of every generated ticket (``tickets_returnticket``), in one statement."""
        approved = ", ".join(["%s"] * len(APPROVED_STATES))
        goods = ", ".join(["%s"] * len(GOODS_BACK_STATES))
        sql = f"""
            INSERT INTO tickets_returnticket (ticket_ptr_id, refund_only, requested_amount, approved_amount,
                                              goods_received)
            SELECT id, %s, %s, CASE WHEN state IN ({approved}) THEN %s END, state IN ({goods})
            FROM tickets_ticket WHERE kind = 'return'
        """  # noqa: S608 (only placeholders are formatted in)
        with connection.cursor() as cursor:
            cursor.execute(sql, [False, AMOUNT, *APPROVED_STATES, AMOUNT, *GOODS_BACK_STATES])

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
