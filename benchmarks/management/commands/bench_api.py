"""Measure the API under gunicorn: create, list (page 20), retrieve and one transition, each beside a bare
DRF endpoint over a flat table, in the same run, at the same concurrency.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench python manage.py bench_api --yes

The load (benchmarks/load.py) comes from ``--concurrency`` client processes on this machine (``http.client``, a
new connection per request as behind nginx's default proxying, closed loop), so client and server share the CPU;
both sides of each comparison pay the same.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from benchmarks.load import (
    Plans,
    Result,
    client,
    plan_bare_create,
    plan_bare_list,
    plan_bare_retrieve,
    plan_bare_transition,
    plan_create,
    plan_list,
    plan_retrieve,
    plan_transition,
)


def _database_url(db: dict) -> str:
    """The URL of the database this command runs on (also a test database), for the gunicorn it starts."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{db['NAME']}"
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(BaseCommand):
    help = "Benchmark the API (create, list, retrieve, transition) against bare DRF endpoints, under gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=8)
        parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per operation and round")
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            help="each operation and its bare twin measured this many times, alternating (the machine's drift "
            "then weighs on both sides alike)",
        )
        parser.add_argument("--warmup", type=float, default=2.0)
        # Defaults: the production command of docs/operations.md (gunicorn kefu.wsgi --workers 4, sync workers).
        parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread only)")
        parser.add_argument("--worker-class", default="sync", help="gunicorn worker class: sync or gthread")
        # One order per ticket kept ready: an order line then holds a ticket or two, as a shop's do. With 1,000
        # orders for 20,000+ tickets each line held dozens, and every create summed them all (1.1 ms of its 2.8 ms
        # in PostgreSQL), a cost of this database, not of a shop's.
        parser.add_argument("--orders", type=int, default=20000, help="delivered orders the creates open returns for")
        parser.add_argument(
            "--tickets",
            type=int,
            default=20000,
            help="requested tickets kept ready: half are read, half cancelled (each once: at 400 cancels/s, 3 rounds "
            "of 10 s need 12,000 with the warm-up; a client past its share stops, and the run says it ran out)",
        )
        parser.add_argument(
            "--operations",
            default="create,list,retrieve,transition",
            help="comma-separated subset of: create, list, retrieve, transition",
        )
        parser.add_argument("--json", help="also write the results to this file")
        parser.add_argument("--yes", action="store_true", help="allow running on a non-empty database")

    def handle(self, *args, **opts):
        if connection.vendor != "postgresql":
            self.stderr.write(self.style.WARNING("Not PostgreSQL: figures will not mean much (use DATABASE_URL)."))
        from tickets.models import Ticket

        if Ticket.objects.exclude(shop__code="bench-shop").exists() and not opts["yes"]:
            raise CommandError("This database holds real tickets; run on a scratch database or pass --yes.")
        key = self.prepare(opts)
        port = _free_port()
        server = self.start_gunicorn(port, opts)
        try:
            results = []
            pairs = [
                ("create", plan_create, plan_bare_create),
                ("list (page 20)", plan_list, plan_bare_list),
                ("retrieve", plan_retrieve, plan_bare_retrieve),
                ("transition", plan_transition, plan_bare_transition),
            ]
            chosen = {name.strip() for name in opts["operations"].split(",")}
            unknown = chosen - {"create", "list", "retrieve", "transition"}
            if unknown:
                raise CommandError(f"Unknown operations: {', '.join(sorted(unknown))}.")
            for name, plan, bare in pairs:
                if name.split(" ")[0] not in chosen:
                    continue
                kefu_rounds, base_rounds = [], []
                for round_ in range(opts["rounds"]):
                    Plans.round = round_
                    kefu_rounds.append(self.load(name, plan, port, key, opts))
                    base_rounds.append(self.load(f"bare {name}", bare, port, key, opts))
                results.append((name, Result.pooled(kefu_rounds), Result.pooled(base_rounds), kefu_rounds, base_rounds))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        self.report(results, opts)

    # -- setup ------------------------------------------------------------------------------------------
    def prepare(self, opts) -> str:
        from api.models import ApiKey
        from benchmarks.models import FlatTicket
        from orders.models import Buyer, Order, OrderLine, Shop
        from tickets import services
        from tickets.actors import Actor
        from tickets.models import Ticket
        from tickets.types import LineRequest

        shop, _ = Shop.objects.get_or_create(code="bench-shop", defaults={"name": "Bench shop", "channel": "own"})
        _, raw = ApiKey.issue(shop=shop, name="bench")
        buyer, _ = Buyer.objects.get_or_create(shop=shop, external_id="bench-buyer", defaults={"name": "Bench"})
        now = timezone.now()
        existing = set(Order.objects.filter(shop=shop).values_list("number", flat=True))
        new_orders = [
            Order(
                shop=shop,
                buyer=buyer,
                number=f"BENCH-{i:06d}",
                status="delivered",
                paid_at=now - timedelta(days=3),
                delivered_at=now - timedelta(days=1),
            )
            for i in range(opts["orders"])
            if f"BENCH-{i:06d}" not in existing
        ]
        Order.objects.bulk_create(new_orders)
        orders = list(Order.objects.filter(shop=shop, number__startswith="BENCH-").order_by("number"))
        with_lines = set(OrderLine.objects.filter(order__in=orders).values_list("order_id", flat=True))
        OrderLine.objects.bulk_create(
            [
                OrderLine(
                    order=o,
                    sku="BENCH-SKU",
                    name="Bench item",
                    quantity=100_000,
                    unit_price=Decimal("10.00"),
                    paid_amount=Decimal("1000000.00"),
                )
                for o in orders
                if o.pk not in with_lines
            ]
        )
        Plans.orders = [o.number for o in orders]
        Plans.concurrency = opts["concurrency"]
        Plans.rounds = opts["rounds"]
        self.stdout.write(f"making {opts['tickets']} tickets through the services …")
        actor = Actor.for_buyer(buyer)
        have = Ticket.objects.filter(shop=shop, state="requested").count()
        for i in range(max(0, opts["tickets"] - have)):
            services.return_open(
                order=orders[i % len(orders)],
                actor=actor,
                lines=[LineRequest("BENCH-SKU", 1)],
                reason_code="quality_problem",
            )
        numbers = list(
            Ticket.objects.filter(shop=shop, state="requested").order_by("pk").values_list("number", flat=True)
        )
        half = len(numbers) // 2
        Plans.numbers, Plans.cancel_numbers = numbers[:half], numbers[half:]
        if FlatTicket.objects.count() < 1000:
            FlatTicket.objects.bulk_create(
                [
                    FlatTicket(
                        shop_code="bench-shop",
                        number="FLAT",
                        kind="return",
                        state="requested",
                        order_number="B1",
                        sku="BENCH-SKU",
                        quantity=1,
                        reason="quality_problem",
                    )
                    for _ in range(1000)
                ]
            )
        Plans.flat_ids = list(FlatTicket.objects.values_list("pk", flat=True)[:1000])
        if connection.vendor == "postgresql":
            # Statistics as autovacuum would have them after the bulk inserts above (a steady state, not the
            # planner's guesses about freshly filled tables).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        connection.close()
        return raw

    def start_gunicorn(self, port: int, opts) -> subprocess.Popen:
        env = {
            **os.environ,
            "KEFU_BENCH_ENDPOINTS": "true",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 60),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "KEFU_THROTTLE_API_KEY": "100000000/min",
            "LOG_LEVEL": "WARNING",
        }
        env["DATABASE_URL"] = _database_url(connection.settings_dict)
        cmd = [
            str(Path(sys.executable).parent / "gunicorn"),
            "kefu.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(opts["workers"]),
            "-k",
            opts["worker_class"],
            *(["--threads", str(opts["threads"])] if opts["worker_class"] == "gthread" else []),
            "--log-level",
            "warning",
            "--access-logfile",
            "/dev/null",
        ]
        server = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR, start_new_session=True)  # noqa: S603 - our own argv
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    time.sleep(1.0)
                    return server
            except OSError:
                time.sleep(0.2)
        server.kill()
        raise CommandError("gunicorn did not start")

    # -- load -------------------------------------------------------------------------------------------
    def load(self, name: str, plan, port: int, key: str, opts) -> Result:
        concurrency = opts["concurrency"]
        args = [(port, key, plan, w, opts["duration"], opts["warmup"]) for w in range(concurrency)]
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(concurrency) as pool:
            parts = pool.map(client, args)
        latencies = [ms for _, _, lat, _ in parts for ms in lat]
        wanted = max(p[3] for p in parts)
        result = Result(
            name,
            sum(p[0] for p in parts),
            sum(p[1] for p in parts),
            opts["duration"],
            latencies,
            ran_out=wanted > 0,
            wanted=wanted,
        )
        self.stdout.write(
            f"  {name:<24} {result.rps:8.1f} req/s  p50 {result.pct(50):6.1f} ms  "
            f"p99 {result.pct(99):6.1f} ms  errors {result.errors}{'  RAN OUT' if result.ran_out else ''}"
        )
        if result.ran_out:
            # Only the cancels can run out (plan_transition), and they use half of --tickets; a fifth more for
            # a machine a little faster next time.
            needed = math.ceil(wanted * concurrency * opts["rounds"] * 2 * 1.2 / 1000) * 1000
            self.stderr.write(
                self.style.WARNING(
                    f"{name} ran past the prepared tickets (a client used up its share, each ticket cancelled "
                    f"once, and stopped early): its figures do not count; run again with --tickets {needed} "
                    f"(this run had {opts['tickets']})."
                )
            )
        return result

    def report(self, results, opts) -> None:
        self.stdout.write("")
        self.stdout.write(
            f"concurrency {opts['concurrency']}, gunicorn {opts['workers']}×{opts['threads']} {opts['worker_class']}, "
            f"{opts['rounds']} rounds × {opts['duration']:.0f} s per operation and side, alternating; "
            f"database {connection.vendor}, {os.cpu_count()} cores"
        )
        header = (
            f"{'operation':<16}{'kefu req/s':>11}{'p50':>8}{'p95':>8}{'p99':>8}{'err':>5}"
            f"{'bare req/s':>12}{'p50':>8}{'p95':>8}{'p99':>8}{'ratio':>7}  per round"
        )
        self.stdout.write(header)
        rows = []
        for name, kefu, base, kefu_rounds, base_rounds in results:
            ratio = kefu.rps / base.rps if base.rps else 0
            per_round = [k.rps / b.rps if b.rps else 0 for k, b in zip(kefu_rounds, base_rounds, strict=True)]
            self.stdout.write(
                f"{name:<16}{kefu.rps:>11.1f}{kefu.pct(50):>8.1f}{kefu.pct(95):>8.1f}{kefu.pct(99):>8.1f}"
                f"{kefu.errors:>5}{base.rps:>12.1f}{base.pct(50):>8.1f}{base.pct(95):>8.1f}{base.pct(99):>8.1f}"
                f"{ratio:>7.2f}  {' '.join(f'{r:.2f}' for r in per_round)}"
            )
            rows.append(
                {
                    "operation": name,
                    "kefu_rps": round(kefu.rps, 1),
                    "kefu_p50_ms": round(kefu.pct(50), 1),
                    "kefu_p95_ms": round(kefu.pct(95), 1),
                    "kefu_p99_ms": round(kefu.pct(99), 1),
                    "kefu_errors": kefu.errors,
                    "bare_rps": round(base.rps, 1),
                    "bare_p50_ms": round(base.pct(50), 1),
                    "bare_p95_ms": round(base.pct(95), 1),
                    "bare_p99_ms": round(base.pct(99), 1),
                    "bare_errors": base.errors,
                    "kefu_ran_out": kefu.ran_out,
                    "bare_ran_out": base.ran_out,
                    "ratio": round(ratio, 2),
                    "ratio_per_round": [round(r, 2) for r in per_round],
                }
            )
        if any(kefu.errors or base.errors for _, kefu, base, _, _ in results):
            self.stderr.write(self.style.WARNING("Some requests failed (err): those figures do not count."))
        if any(kefu.ran_out or base.ran_out for _, kefu, base, _, _ in results):
            self.stderr.write(
                self.style.WARNING("Some operations ran past their prepared tickets: those figures do not count.")
            )
        if opts.get("json"):
            Path(opts["json"]).write_text(json.dumps(rows, indent=2))
