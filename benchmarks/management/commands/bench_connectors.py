"""``manage.py bench_connectors``: how fast a marketplace pull brings cases into kefu, and what each costs in SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench \\
        python manage.py bench_connectors --cases 100000 [--yes] [--keep]

Starts the Taobao simulator as a subprocess (``python -m tests.simulators.serve --cases N``, from the project's
directory: the benchmark does not import the test tree) seeded with ``--cases`` refunds generated
deterministically from the fixtures, modified one second apart over the last ``N`` seconds, each asking the
merchant to answer within 48 hours. A shop connection to it is made (shop ``bench-connectors``), and the real
pull runs in this process: ``connectors.services.sync.connection_backfill`` over the seeded range, i.e. the
Taobao connector's signed ``taobao.refunds.receive.get`` calls over HTTP (``kefu.core.outbound``), page by page
in windows of ``KEFU_CONNECTOR_PULL_WINDOW_SECONDS`` overlapping by ``KEFU_CONNECTOR_PULL_OVERLAP_SECONDS`` as
the periodic pull does, and ``case_ingest`` for every case (the order created, the return ticket opened with the
platform's deadline). Then the same range is pulled again: every case is unchanged.

Printed per pass: snapshots read (the overlap re-reads some), what ingestion made of them, seconds, new cases per
second (the first pass) or snapshots per second, SQL statements per snapshot and per new case (counted with a
``connection.execute_wrapper``; BEGIN/COMMIT are not statements, nor the benchmark's own ANALYZE: see
``ANALYZE_AT_LEAST``), pages; then the simulator's CPU time and this process's peak memory (``ru_maxrss``). Query
logging is off while timing (DEBUG as in production).

Destructive: buyers, orders, tickets and everything referencing them (platform cases, write-backs) are emptied
before and after the run (``TRUNCATE … CASCADE``; ``--keep`` leaves the rows). Run it against a scratch database;
one that already holds such rows needs ``--yes``. docs/platforms.md ("The benchmark") has figures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test.utils import override_settings

from benchmarks.scratch import database_description, machine_load, tables_empty, tables_refuse_unless, ticket_tables
from connectors.models import ShopConnection
from connectors.services.sync import connection_backfill
from orders.models import Buyer, Channel, Shop

BENCH_SHOP = "bench-connectors"
PROGRESS_EVERY = 10_000  # snapshots between two progress lines (on stderr)
# On PostgreSQL the tables the pull fills are analyzed whenever it has read 10 % more snapshots (at least this many),
# as autovacuum's defaults would (autovacuum_analyze_scale_factor 0.1): the statistics of the emptied tables
# would otherwise say "empty" for the whole run, and a plan chosen then (a sequential scan of the ticket lines for
# every new case) would make each case slower than the last. A server with autovacuum off is analyzed all the same.
ANALYZE_AT_LEAST = 500
SIMULATOR = [sys.executable, "-m", "tests.simulators.serve"]


@dataclass
class Pass:
    name: str
    seconds: float
    statements: int
    pages: int
    outcomes: Counter[str]

    @property
    def snapshots(self) -> int:
        return sum(self.outcomes.values())


@contextmanager
def simulator(cases: int) -> Iterator[tuple[dict[str, Any], list[float]]]:
    """The seeded simulator's facts (its JSON line); after the block, its CPU seconds in the yielded list."""
    process = subprocess.Popen(  # noqa: S603 - our own module, no shell
        [*SIMULATOR, "--cases", str(cases)],
        cwd=settings.BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    cpu: list[float] = []
    try:
        line = process.stdout.readline() if process.stdout else ""
        if not line:
            raise CommandError(f"The simulator did not start ({' '.join(SIMULATOR)}; exit {process.wait(10)}).")
        yield json.loads(line), cpu
    finally:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process.terminate()
        process.wait(30)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Statements sent while the block runs (``counter[0]``); none counted while ``counter[1]`` is set."""
    counter = [0, 0]

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not counter[1]:
            counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def connection_make(facts: dict[str, Any]) -> ShopConnection:
    shop, _ = Shop.objects.get_or_create(
        code=BENCH_SHOP, defaults={"name": "bench_connectors", "channel": Channel.TAOBAO}
    )
    ShopConnection.objects.filter(platform="taobao", external_id=facts["shop"]).delete()
    return ShopConnection.objects.create(
        shop=shop,
        platform="taobao",
        external_id=facts["shop"],
        base_url=facts["url"],
        app_key=facts["app_key"],
        app_secret=facts["app_secret"],
        access_token=facts["session"],
        return_address_id="5001",
    )


class Command(BaseCommand):
    help = "Cases per second and SQL statements per case of a marketplace pull from a seeded simulator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cases", type=int, default=100_000, help="cases to seed and pull (default 100,000)")
        parser.add_argument("--yes", action="store_true", help="empty buyers, orders and tickets although some exist")
        parser.add_argument("--keep", action="store_true", help="leave the pulled rows (and the shop) in place")

    def handle(self, *args: Any, cases: int, yes: bool, keep: bool, **options: Any) -> None:
        if cases < 1:
            raise CommandError("--cases must be at least 1.")
        tables = ticket_tables(root=Buyer)  # buyers, orders, tickets, platform cases, …
        tables_refuse_unless("bench_connectors", tables, yes=yes)
        tables_empty(tables)
        write = self.stdout.write
        write(f"bench_connectors: {cases:,} Taobao cases pulled from the simulator")
        write(f"  database: {database_description()}; load {machine_load()} (1/5/15 min)")
        memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with simulator(cases) as (facts, simulator_cpu):
            write(f"  simulator seeded in {time.perf_counter() - started:.1f} s at {facts['url']}")
            bench_connection = connection_make(facts)
            since = datetime.fromisoformat(facts["since"]) - timedelta(seconds=1)
            until = datetime.fromisoformat(facts["until"]) + timedelta(seconds=1)
            with override_settings(DEBUG=False, KEFU_OUTBOUND_ALLOW_PRIVATE=True):
                passes = [self.pull(name, bench_connection, since, until, tables) for name in ("new", "unchanged")]
        self.report(passes, cases=cases, simulator_cpu=simulator_cpu[0], memory_before=memory_before)
        created = passes[0].outcomes["created"]
        if not keep:
            tables_empty(tables)
            ShopConnection.objects.filter(pk=bench_connection.pk).delete()
            Shop.objects.filter(code=BENCH_SHOP).delete()
        if created != cases:
            raise CommandError(f"{created:,} of {cases:,} cases became tickets: {dict(passes[0].outcomes)}")

    def pull(
        self, name: str, bench_connection: ShopConnection, since: datetime, until: datetime, tables: list[str]
    ) -> Pass:
        read = [0, 0, 0]  # snapshots so far, at the last progress line, at the last ANALYZE

        def progress(count: int, latest: datetime | None) -> None:
            read[0] += count
            if connection.vendor == "postgresql" and read[0] - read[2] >= max(ANALYZE_AT_LEAST, read[2] // 10):
                read[2] = read[0]
                statements[1] = 1  # not the pull's statements
                with connection.cursor() as cursor:
                    cursor.execute(f"ANALYZE {', '.join(tables)}")
                statements[1] = 0
            if read[0] - read[1] >= PROGRESS_EVERY:
                read[1] = read[0]
                seconds = time.perf_counter() - started
                self.stderr.write(f"  {name}: {read[0]:,} snapshots in {seconds:.0f} s ({statements[0]:,} statements)")

        with counting() as statements:
            started = time.perf_counter()
            result = connection_backfill(connection_id=bench_connection.pk, since=since, until=until, progress=progress)
            seconds = time.perf_counter() - started
        if result.error:
            raise CommandError(f"The {name} pull failed: {result.error}")
        return Pass(name, seconds, statements[0], result.pages, Counter(result.outcomes))

    def report(self, passes: list[Pass], *, cases: int, simulator_cpu: float, memory_before: int) -> None:
        write = self.stdout.write
        write("")
        write(
            f"  {'pass':<10} {'snapshots':>9} {'outcomes':<28} {'seconds':>8} {'cases/s':>8} "
            f"{'SQL/snapshot':>12} {'SQL/new case':>12} {'pages':>6}"
        )
        for p in passes:
            created = p.outcomes["created"]
            outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(p.outcomes.items()))
            rate = (created or p.snapshots) / p.seconds
            # The new pass's repeated snapshots (the windows' overlap) cost one read each: what remains is the
            # new cases'.
            per_new = (p.statements - p.outcomes["stale"]) / created if created else float("nan")
            write(
                f"  {p.name:<10} {p.snapshots:>9,} {outcomes:<28} {p.seconds:>8.1f} {rate:>8.1f} "
                f"{p.statements / p.snapshots:>12.2f} {per_new:>12.2f} {p.pages:>6,}"
            )
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        write("")
        write("  cases/s: new cases opened per second (new pass), snapshots per second (unchanged pass)")
        write(f"  simulator CPU: {simulator_cpu:.1f} s (its own process, on the same machine)")
        write(f"  peak memory of this process: {memory / 1024:.0f} MiB (before the pull: {memory_before / 1024:.0f})")
        write(f"  {cases:,} cases seeded; every one a ticket: {passes[0].outcomes['created'] == cases}")
