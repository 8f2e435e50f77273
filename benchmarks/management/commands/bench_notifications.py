"""``manage.py bench_notifications``: how many notifications one worker delivers per second.

The relay's work (``relay_pending``: claim pending rows under a lease in one short transaction, sign and POST
each webhook outside any transaction, record the outcomes in another) over ``--count`` pending storefront
webhooks, against a plain loop posting the same payloads with the same HTTP client (``kefu.core.outbound``),
headers and signing to the same server, in the same run.
The server is a threaded ``http.server`` in a subprocess on 127.0.0.1 (keep-alive, TCP_NODELAY; both sides
reuse one kept-alive connection, the guarded client's). The plain loop and the relay run over ``--rounds``
alternating slices, so a change in the machine's load hits both alike. It also reports the CPU time each
spends per delivery: this process's (``time.process_time``), and for the relay the PostgreSQL backend's serving
its connection (from ``/proc/<pid>/schedstat``, when the server runs on this machine). docs/performance.md has figures.
The outbox table is not vacuumed here: where autovacuum is off, VACUUM it between runs, or each run's dead rows
slow the next one's claims.

It writes a shop, an order, a ticket and the outbox rows of its own (code ``bench-notify-…``) and deletes
them afterwards (``--keep`` leaves them). Query logging is off while timing (DEBUG as in production); outgoing
requests may go to private addresses meanwhile (KEFU_OUTBOUND_ALLOW_PRIVATE), as the server is on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from notifications.channels.http import post
from notifications.channels.webhook import body_bytes, signed_headers
from notifications.models import Audience, Channel, Event, Notification, Status
from notifications.relay import relay_pending
from orders.models import Buyer, Order, Shop
from tickets.models import ReturnTicket, WaitingOn

# The storefront: counts requests per X-Kefu-Delivery, answers 200; GET /stats gives the counts.
SERVER = r"""
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
seen, lock = {}, threading.Lock()
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("X-Kefu-Delivery", "")
        with lock:
            seen[key] = seen.get(key, 0) + 1
        self.reply(b'{"ok":true}')
    def do_GET(self):
        with lock:
            stats = {"requests": sum(seen.values()), "keys": len(seen), "repeated": sum(n > 1 for n in seen.values())}
        self.reply(json.dumps(stats).encode())
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@contextmanager
def receiver() -> Any:
    process = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        port = int(process.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def counting_queries() -> Any:
    counter = {"n": 0}

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        counter["n"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counter


def backend_cpu_seconds(pid: int | None) -> float:
    """CPU seconds the database backend with process id ``pid`` has used; 0 when unknown. From the scheduler's
    count in nanoseconds (``/proc/<pid>/schedstat``): ``/proc/<pid>/stat`` counts in clock ticks (10 ms)."""
    if pid is None:
        return 0.0
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:  # the server runs on another machine
        return 0.0


@dataclass
class Figures:
    plain: float = 0.0  # seconds
    relay: float = 0.0  # seconds
    queries: int = 0  # by the relay
    ratios: list[float] = field(default_factory=list)  # relay rate / plain rate, per round
    plain_cpu: float = 0.0  # seconds of this process's CPU
    relay_cpu: float = 0.0
    backend_cpu: float = 0.0  # seconds of the database backend's CPU, during the relay


@dataclass
class Timing:
    """One timed part: wall-clock, this process's CPU and the database backend's CPU, in seconds."""

    elapsed: float
    cpu: float
    backend_cpu: float = 0.0


class Command(BaseCommand):
    help = "Notifications delivered per second by one worker, against a plain HTTP loop (same client and server)."
    backend_pid: int | None = None  # the database backend serving this connection (PostgreSQL only)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=2000, help="webhooks to deliver (default 2000)")
        parser.add_argument("--rounds", type=int, default=5, help="alternating plain/relay slices (default 5)")
        parser.add_argument("--warmup", type=int, default=50, help="untimed deliveries of each kind first (default 50)")
        parser.add_argument("--keep", action="store_true", help="keep the benchmark's rows")

    def handle(self, *args: Any, count: int, rounds: int, warmup: int, keep: bool, **options: Any) -> None:
        run = uuid.uuid4().hex[:8]
        load_before = os.getloadavg()
        self.backend_pid = self.database_backend_pid()
        with receiver() as base:
            shop, ticket = self.setup_rows(run, f"{base}/kefu/webhook")
            try:
                payloads = [self.payload(shop, ticket, f"bench-{run}-{i}") for i in range(count)]
                warm = [self.payload(shop, ticket, f"warm-{run}-{i}") for i in range(warmup)]
                with override_settings(DEBUG=False, KEFU_OUTBOUND_ALLOW_PRIVATE=True):
                    self.plain_loop(shop, warm)
                    self.relay(shop, ticket, warm)
                    figures = self.alternate(shop, ticket, payloads, rounds)
                with urlopen(f"{base}/stats") as response:  # noqa: S310 - our own local server
                    stats = json.loads(response.read())
            finally:
                if not keep:
                    self.remove_rows(shop, ticket)
        # Each payload went out twice: once by the plain loop, once by the relay (which sends a message once).
        sent = warmup + count
        if (stats["keys"], stats["requests"], stats["repeated"]) != (sent, 2 * sent, sent):
            raise RuntimeError(f"the server did not receive what was sent: {stats}")
        ratios = sorted(figures.ratios)
        micro = 1e6 / count
        backend = f" + database backend {figures.backend_cpu * micro:.0f}" if self.backend_pid else ""
        self.stdout.write(
            f"notification delivery: {count} storefront webhooks to a local threaded HTTP server (own process), "
            f"database {connection.vendor}, {rounds} alternating rounds\n"
            f"  plain loop, kefu.core.outbound, same headers and signing: {count / figures.plain:8.1f} /s\n"
            f"  relay_pending, one worker (claim, send, record):          {count / figures.relay:8.1f} /s "
            f"({figures.queries / count:.2f} SQL queries per delivery)\n"
            f"  ratio relay / plain: {figures.plain / figures.relay:.2f} (target >= 0.8); per round "
            f"{ratios[0]:.2f} .. {ratios[-1]:.2f}, median {ratios[len(ratios) // 2]:.2f}\n"
            f"  CPU per delivery (µs): plain loop {figures.plain_cpu * micro:.0f}; "
            f"relay {figures.relay_cpu * micro:.0f}{backend}\n"
            f"  machine: {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
            f"{os.getloadavg()[0]:.2f} after"
        )

    def alternate(self, shop: Shop, ticket: ReturnTicket, payloads: list[dict[str, Any]], rounds: int) -> Figures:
        """Plain loop and relay over alternating slices: a change in the machine's load hits both alike."""
        figures = Figures()
        for r in range(rounds):
            part = payloads[r * len(payloads) // rounds : (r + 1) * len(payloads) // rounds]
            plain = self.plain_loop(shop, part)
            relay, queries = self.relay(shop, ticket, part)
            figures.plain += plain.elapsed
            figures.relay += relay.elapsed
            figures.queries += queries
            figures.ratios.append(plain.elapsed / relay.elapsed)
            figures.plain_cpu += plain.cpu
            figures.relay_cpu += relay.cpu
            figures.backend_cpu += relay.backend_cpu
        return figures

    def database_backend_pid(self) -> int | None:
        """The process id of the PostgreSQL backend serving this connection (None on other databases)."""
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    def setup_rows(self, run: str, url: str) -> tuple[Shop, ReturnTicket]:
        now = timezone.now()
        with transaction.atomic():
            shop = Shop.objects.create(
                code=f"bench-notify-{run}",
                name=f"Bench {run}",
                channel="own",
                webhook_url=url,
                webhook_secret=uuid.uuid4().hex,
            )
            buyer = Buyer.objects.create(shop=shop, external_id=f"bench-{run}", name="Bench buyer")
            order = Order.objects.create(shop=shop, buyer=buyer, number=f"BENCH-{run}", paid_at=now)
            ticket = ReturnTicket.objects.create(
                kind="return",
                state="awaiting_return",
                number=f"BENCH-{run}",
                shop=shop,
                order=order,
                buyer=buyer,
                waiting_on=WaitingOn.BUYER,
                step_started_at=now,
                requested_amount=Decimal("99.00"),
            )
        return shop, ticket

    def remove_rows(self, shop: Shop, ticket: ReturnTicket) -> None:
        with transaction.atomic():
            Notification.objects.filter(ticket=ticket).delete()
            ticket.delete()
            Order.objects.filter(shop=shop).delete()
            Buyer.objects.filter(shop=shop).delete()
            shop.delete()

    def payload(self, shop: Shop, ticket: ReturnTicket, key: str) -> dict[str, Any]:
        """A state-change webhook body as notifications.services.webhook_payload writes it."""
        return {
            "id": key,
            "event": Event.STATE_CHANGED.value,
            "occurred_at": timezone.now().isoformat(),
            "shop": shop.code,
            "ticket": {
                "number": ticket.number,
                "kind": "return",
                "state": "awaiting_return",
                "order_number": ticket.order.number,
                "buyer_id": ticket.buyer.external_id,
                "due_at": timezone.now().isoformat(),
            },
            "data": {
                "transition": "approve",
                "from_state": "requested",
                "to_state": "awaiting_return",
                "reason": "同意退货，请在 7 天内寄回",
                "actor": "staff",
            },
        }

    def plain_loop(self, shop: Shop, payloads: list[dict[str, Any]]) -> Timing:
        """How long a loop takes to post the webhooks with the same client, headers and signing."""
        started, cpu = time.perf_counter(), time.process_time()
        for p in payloads:
            body = body_bytes(p)
            headers = signed_headers(secret=shop.webhook_secret, body=body, event=p["event"], dedup_key=p["id"])
            post(shop.webhook_url, data=body, headers=headers)
        return Timing(time.perf_counter() - started, time.process_time() - cpu)

    def relay(self, shop: Shop, ticket: ReturnTicket, payloads: list[dict[str, Any]]) -> tuple[Timing, int]:
        """How long (and how many SQL queries) the relay takes to deliver the payloads written as pending rows."""
        due = timezone.now()
        Notification.objects.bulk_create(
            [
                Notification(
                    ticket=ticket,
                    event=p["event"],
                    channel=Channel.WEBHOOK,
                    audience=Audience.BUYER,
                    recipient=shop.webhook_url,
                    language="zh-hans",
                    subject="",
                    body="",
                    payload=p,
                    dedup_key=p["id"],
                    next_attempt_at=due,
                )
                for p in payloads
            ],
            batch_size=500,
        )
        with counting_queries() as queries:
            backend = backend_cpu_seconds(self.backend_pid)
            started, cpu = time.perf_counter(), time.process_time()
            while relay_pending(limit=500):
                pass
            timing = Timing(
                time.perf_counter() - started,
                time.process_time() - cpu,
                backend_cpu_seconds(self.backend_pid) - backend,
            )
        delivered = Notification.objects.filter(dedup_key__in=[p["id"] for p in payloads], status=Status.SENT).count()
        if delivered != len(payloads):
            raise RuntimeError(f"the relay delivered {delivered} of {len(payloads)} (is another relay running?)")
        return timing, queries["n"]
