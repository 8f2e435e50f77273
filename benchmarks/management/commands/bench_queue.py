"""``manage.py bench_queue``: the queue page's server time per view with 10,000 open tickets (PostgreSQL only).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kefu_bench \\
        python manage.py bench_queue --tickets 10000 --repeat 30

Fills a scratch database with ``--tickets`` open tickets of the four kinds, as ``bench_dashboard`` generates
them (benchmarks.dashboard_data: random working states with their department and deadline, opened over
``--history-days``, so many are overdue; lines and timeline entries too), then makes the queue look worked:
``--agents`` staff per department (operations, warehouse, logistics) and a supervisor, 40 % of the tickets
waiting on a department assigned round-robin to its agents, one in twenty due within the hour, one in seven of
the overdue ones escalated to the supervisors (as the sweep would: escalation level 1, the step's department
kept). Then ``VACUUM ANALYZE``.

It then requests, through the test client (middleware, session, permissions, template: everything but the
network), the list page and the polled fragment (desk.admin.queue) of every view as the supervisor (who sees
every ticket) and as an operations agent, ``--repeat`` times each after one untimed request, and reports
p50 / p95 / max and the SQL queries per request; and the tab counts' query alone.

Destructive: the ticket tables are emptied before and after (``TRUNCATE … CASCADE``), the benchmark's shop,
buyers, orders and users deleted (``--keep`` leaves them). A database that already holds tickets needs ``--yes``.
"""

from __future__ import annotations

import functools
import statistics
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone

from benchmarks.dashboard_data import fixture_delete, generate
from benchmarks.management.commands.bench_dashboard import executed
from benchmarks.scratch import database_description, machine_load, tables_empty, tables_refuse_unless, ticket_tables
from desk.admin.queue import VIEWS, view_counts
from orders.models import Shop
from routing.models import Department, StaffMember
from tickets.models import Ticket

BENCH_CODE = "bench-queue"
USER_PREFIX = "bench-queue-"
DEPARTMENTS = ("operations", "warehouse", "logistics")
BUDGET_MS = 300


def percentile(values: list[float], share: float) -> float:
    """The ``share`` percentile (0.95: p95) by linear interpolation between the sorted values."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Command(BaseCommand):
    help = (
        "Benchmark of the queue page on PostgreSQL: generates N open tickets, then times the list page and the "
        "polled fragment of every view (p50/p95) as a supervisor and as an operations agent. Empties the ticket "
        "tables before and after."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tickets", type=int, default=10_000, help="open tickets to generate (10,000)")
        parser.add_argument("--history-days", type=int, default=30, help="days the tickets were opened over (30)")
        parser.add_argument("--agents", type=int, default=5, help="staff per department (5)")
        parser.add_argument("--repeat", type=int, default=20, help="timed requests per page and view (20)")
        parser.add_argument("--seed", type=int, default=42, help="seed of the generated spread (42)")
        parser.add_argument("--keep", action="store_true", help="leave the generated rows in the database")
        parser.add_argument(
            "--yes", action="store_true", help="empty the ticket tables even though they hold tickets already"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        n: int = options["tickets"]
        repeat: int = options["repeat"]
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_queue needs PostgreSQL (the generator uses generate_series). Use a scratch database: "
                "createdb -h 127.0.0.1 -U postgres kefu_bench, then DATABASE_URL=postgres://postgres@127.0.0.1:5432/"
                "kefu_bench python manage.py migrate and run this command with the same DATABASE_URL."
            )
        if n < 1 or repeat < 1 or options["agents"] < 1 or options["history_days"] < 1:
            raise CommandError("--tickets, --repeat, --agents and --history-days must be positive.")
        tables = ticket_tables()
        tables_refuse_unless("bench_queue", tables, yes=options["yes"])
        tables_empty(tables)
        self._delete_fixture()
        rows: list[tuple[str, str]] = [("database", database_description()), ("load average before", machine_load())]

        started = time.perf_counter()
        now = timezone.now()
        # Every ticket open: a ticket of age a stays open with probability exp(-a / open_days).
        shop = generate(n=n, now=now, history_days=options["history_days"], open_days=1e9, seed=options["seed"])
        Shop.objects.filter(pk=shop.pk).update(code=BENCH_CODE, name="Benchmark shop (queue)")
        supervisor, agents = self._staff(options["agents"])
        self._work_the_queue(shop=shop, agents=agents, supervisor=supervisor)
        rows += self._describe(n=n, generated=time.perf_counter() - started)

        slowest = 0.0
        for user, who in ((supervisor, "supervisor"), (agents["operations"][0], "operations agent")):
            for label, timing, worst in self._time_views(user, repeat=repeat):
                rows.append((f"{who}: {label}", timing))
                slowest = max(slowest, worst)
        rows.append(("tab counts alone (one query), supervisor", self._time_counts(supervisor, repeat=repeat)))
        rows.append(
            (
                "budget",
                f"p95 under {BUDGET_MS} ms in every view: {'yes' if slowest < BUDGET_MS else 'NO'} "
                f"(slowest p95 {slowest:.0f} ms)",
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
            fixture_delete(shop)
            self._delete_fixture()
            self.stdout.write("\nCleaned up: the ticket tables are empty again and the benchmark's rows are gone.")

    # -- the data --------------------------------------------------------------------------------------

    def _delete_fixture(self) -> None:
        fixture_delete(Shop.objects.filter(code=BENCH_CODE).first())
        get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()

    def _staff(self, per_department: int) -> tuple[Any, dict[str, list[Any]]]:
        """A supervisor and ``per_department`` agents per department, as the desk sets staff up (group of the
        department, ``StaffMember`` off duty)."""
        users = get_user_model().objects
        agents: dict[str, list[Any]] = {}
        with transaction.atomic():
            supervisor = users.create_user(f"{USER_PREFIX}supervisor", is_staff=True)
            for code in (*DEPARTMENTS, "supervisors"):
                members = [supervisor] if code == "supervisors" else []
                members += [
                    users.create_user(f"{USER_PREFIX}{code}-{i}", is_staff=True)
                    for i in range(per_department if code != "supervisors" else 0)
                ]
                group = Group.objects.filter(name=code).first()
                department = Department.objects.filter(code=code).first()
                for user in members:
                    if group is not None:
                        user.groups.add(group)
                    member = StaffMember.objects.create(user=user, on_duty=False)
                    if department is not None:
                        member.departments.add(department)
                if code != "supervisors":
                    agents[code] = members
        return supervisor, agents

    def _work_the_queue(self, *, shop: Shop, agents: dict[str, list[Any]], supervisor: Any) -> None:
        with connection.cursor() as cursor:
            for code, members in agents.items():
                cursor.execute(
                    "UPDATE tickets_ticket SET assignee_id = (%s::int[])[1 + mod(id, %s)] "
                    "WHERE shop_id = %s AND department = %s AND mod(id, 5) < 2",
                    [[u.pk for u in members], len(members), shop.pk, code],
                )
            cursor.execute(
                "UPDATE tickets_ticket SET step_due_at = now() + mod(id, 60) * interval '1 minute', "
                "due_at = now() + mod(id, 60) * interval '1 minute' "
                "WHERE shop_id = %s AND waiting_on = 'merchant' AND mod(id, 20) = 1",
                [shop.pk],
            )
            cursor.execute(
                "UPDATE tickets_ticket SET escalation_level = 1, sla_breached = TRUE, priority = 30, "
                "step_department = department, department = 'supervisors', assignee_id = %s "
                "WHERE shop_id = %s AND waiting_on = 'merchant' AND step_due_at < now() AND mod(id, 7) = 0",
                [supervisor.pk, shop.pk],
            )
            cursor.execute("VACUUM ANALYZE tickets_ticket")

    def _describe(self, *, n: int, generated: float) -> list[tuple[str, str]]:
        now = timezone.now()
        open_ = Ticket.objects.filter(closed_at__isnull=True)
        return [
            (
                "open tickets",
                f"{open_.count():,} of {n:,} generated; {open_.filter(step_due_at__lt=now).count():,} overdue, "
                f"{open_.filter(assignee__isnull=False).count():,} assigned, "
                f"{open_.filter(escalation_level__gt=0).count():,} escalated, "
                f"{open_.filter(waiting_on='buyer').count():,} waiting on the buyer",
            ),
            ("generated in", f"{generated:.1f} s"),
        ]

    # -- measuring -------------------------------------------------------------------------------------

    def _time_views(self, user: Any, *, repeat: int) -> list[tuple[str, str, float]]:
        """Each view's page and fragment: p50, p95 and max over ``repeat`` requests, the queries of one.

        Over HTTPS (production settings redirect plain HTTP), with plain static file storage: the manifest
        storage of production needs ``collectstatic``, and only changes the URLs the page links to.
        """
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(user)
        storages = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        found = []
        pages = (
            ("page", reverse("admin:tickets_ticket_changelist")),
            ("fragment", reverse("admin:tickets_ticket_queue")),
        )
        with override_settings(STORAGES=storages):
            for view in ("", *(v.code for v in VIEWS)):
                for kind, base in pages:
                    url = f"{base}?view={view}" if view else base
                    response, statements = executed(functools.partial(client.get, url, secure=True))
                    if response.status_code != 200:
                        raise CommandError(f"{url} answered {response.status_code}")
                    times = []
                    for _ in range(repeat):
                        started = time.perf_counter()
                        client.get(url, secure=True)
                        times.append(1000 * (time.perf_counter() - started))
                    p95 = percentile(times, 0.95)
                    rows = response.content.count(b'class="kefu-row"')
                    found.append(
                        (
                            f"{view or 'all'} ({kind})",
                            f"p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, max {max(times):.0f} ms "
                            f"({repeat} runs); {len(statements)} SQL queries, {rows} rows, "
                            f"{len(response.content) // 1024} KiB",
                            p95,
                        )
                    )
        return found

    def _time_counts(self, user: Any, *, repeat: int) -> str:
        request = RequestFactory().get("/")
        request.user = user
        counts = view_counts(request)  # the actor's departments are read once per request, not timed here
        times = []
        for _ in range(repeat):
            del request._kefu_queue_counts  # type: ignore[attr-defined]
            started = time.perf_counter()
            counts = view_counts(request)
            times.append(1000 * (time.perf_counter() - started))
        return f"p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms; " + ", ".join(
            f"{code} {count:,}" for code, count in counts.items()
        )
