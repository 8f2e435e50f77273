"""Profile one storefront operation in this process: Python CPU per request, or a cProfile listing.

Runs the requests the shared HTTP harness (../shared/bench) sends, through Django's test client, against the
database it is pointed at (a copy of the harness's seeded ``devbench_kefu``: the harness's API key and orders
``BENCH-100001`` … ``BENCH-110000``), so a change's cost can be seen without a whole harness run:

    createdb -h 127.0.0.1 -U postgres -T devbench_kefu kefu_prof
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_prof DJANGO_DEBUG=false DJANGO_SECRET_KEY=… \\
        DJANGO_ALLOWED_HOSTS=testserver DJANGO_SECURE_SSL_REDIRECT=false KEFU_THROTTLE_API_KEY=100000000/s
    python manage.py profile_storefront update --count 300
    … profile_storefront list --count 200 --profile cumulative

``update`` cancels tickets in state requested (each once), ``create`` opens returns on random seeded orders:
both change the database, so use a copy. CPU is the process's (``time.process_time``), steadier than wall time
on a shared machine; compare several runs. The HTTP server's own work (gunicorn, WSGI) is not in it.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.test import Client

from tickets.models import Ticket

# The harness's fixed storefront key (../shared/bench/kefu/bootstrap.py).
BENCH_KEY = "kefu_0bench0kefu0_benchkefusecret00000000000000000000000000001"
WARMUP = 10


class Command(BaseCommand):
    help = "Profile a storefront operation (list, retrieve, update, create) in-process: CPU per request or cProfile."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", choices=["list", "retrieve", "update", "create"])
        parser.add_argument("--count", type=int, default=300, help="requests measured (after 10 warm-up ones)")
        parser.add_argument("--key", default=BENCH_KEY, help="the storefront's API key")
        parser.add_argument("--profile", metavar="SORT", help="print a cProfile listing sorted by SORT instead")
        parser.add_argument("--sql", action="store_true", help="print one request's statements")

    def handle(self, *args: Any, **opts: Any) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Api-Key {opts['key']}", HTTP_ACCEPT="application/json")
        request = self._plan(client, opts["operation"], opts["count"] + WARMUP)
        for _ in range(WARMUP):
            request()
        count = opts["count"]
        if opts["profile"]:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                request()
            profiler.disable()
            listing = io.StringIO()
            pstats.Stats(profiler, stream=listing).sort_stats(opts["profile"]).print_stats(45)
            self.stdout.write(listing.getvalue())
            return
        statements: list[str] = []

        def counting(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            statements.append(sql)
            return execute(sql, params, many, context)

        cpu, wall = time.process_time(), time.perf_counter()
        with connection.execute_wrapper(counting):
            for _ in range(count):
                request()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if opts["sql"]:
            for sql in statements[: len(statements) // count]:
                self.stdout.write(f"    {sql[:200]}")
        self.stdout.write(
            f"{opts['operation']}: Python CPU {cpu / count * 1000:.2f} ms/request, wall {wall / count * 1000:.2f} "
            f"ms/request, {len(statements) / count:.1f} queries/request ({count} requests)"
        )

    def _plan(self, client: Client, operation: str, total: int) -> Callable[[], None]:
        def check(response: Any) -> None:
            if response.status_code >= 300:
                raise CommandError(f"{operation}: HTTP {response.status_code}: {response.content[:300]!r}")

        if operation == "list":
            return lambda: check(client.get("/api/v1/tickets/?page_size=20"))
        requested = list(
            Ticket.objects.filter(state="requested", kind="return")
            .order_by("-pk")
            .values_list("number", flat=True)[: total + 10]
        )
        if operation in ("retrieve", "update") and len(requested) < (total if operation == "update" else 1):
            raise CommandError(f"Only {len(requested)} requested returns are left: use a fresh copy of the database.")
        if operation == "retrieve":
            numbers = iter(requested * (total // max(len(requested), 1) + 1))
            return lambda: check(client.get(f"/api/v1/tickets/{next(numbers)}/"))
        if operation == "update":
            return lambda: check(
                client.post(
                    f"/api/v1/tickets/{requested.pop()}/actions/cancel/", data={}, content_type="application/json"
                )
            )
        rng = random.Random(7)  # noqa: S311 - which seeded order, not a secret
        body = {"lines": [{"sku": "TEE-RED-M", "quantity": 1}], "reason": "quality_problem", "description": "profile"}
        return lambda: check(
            client.post(
                "/api/v1/tickets/returns/",
                data={**body, "order_number": f"BENCH-{rng.randint(100001, 110000)}"},
                content_type="application/json",
            )
        )
