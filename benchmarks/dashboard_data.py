"""The rows ``bench_dashboard`` measures the dashboard on: a shop's orders, N tickets over a history of days with
their lines and timelines, generated in SQL on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from orders.models import Buyer, Channel, Order, Shop
from tickets.models import ReasonCode
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


def fixture_delete(shop: Shop | None) -> None:
    if shop is None:
        return
    Order.objects.filter(shop=shop).delete()  # and their lines
    Buyer.objects.filter(shop=shop).delete()
    shop.delete()
    get_user_model().objects.filter(username=f"{BENCH_CODE}-supervisor").delete()


# -- generating ------------------------------------------------------------------------------------


def generate(*, n: int, now: datetime, history_days: int, open_days: float, seed: int) -> Shop:
    shop = Shop.objects.create(code=BENCH_CODE, name="Benchmark shop (dashboard)", channel=Channel.TMALL)
    orders = max(1, n // TICKETS_PER_ORDER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
        generate_orders(cursor, shop=shop, orders=orders, now=now, history_days=history_days)
        generate_tickets(cursor, shop=shop, n=n, orders=orders, now=now, history_days=history_days, open_days=open_days)
        generate_lines(cursor)
        generate_events(cursor)
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


def generate_orders(cursor: Any, *, shop: Shop, orders: int, now: datetime, history_days: int) -> None:
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


def state_tables() -> tuple[str, list[Any], str, list[Any]]:
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


def kind_counts() -> tuple[str, list[Any]]:
    """A CASE giving the number of working states (a) and end states (b) of the row's kind."""
    parts: list[str] = []
    params: list[Any] = []
    for kind, model in ticket_models().items():
        working = sum(1 for step in model.STEPS.values() if step.owner)
        parts.append("WHEN %s THEN ARRAY[%s, %s]")
        params += [kind, working, len(model.STEPS) - working]
    return "CASE kind " + " ".join(parts) + " END", params


def generate_tickets(
    cursor: Any, *, shop: Shop, n: int, orders: int, now: datetime, history_days: int, open_days: float
) -> None:
    working_sql, working, ended_sql, ended = state_tables()
    counts_sql, counts = kind_counts()
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
            number, kind, state, platform, description, priority, department, waiting_on, step_started_at,
            step_department, step_due_at, due_at, warn_at, sla_breached, escalation_level, version,
            created_at, updated_at, closed_at, shop_id, order_id, buyer_id, reason_id)
        SELECT %s || lpad(p.g::text, 9, '0'), p.kind, p.state, '', '', 20, p.department, p.waiting_on,
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


def generate_lines(cursor: Any) -> None:
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


def generate_events(cursor: Any) -> None:
    """A ``created`` entry per ticket, and one to three entries that ended a step, with its figures."""
    working_sql, working, _, _ = state_tables()
    counts_sql, counts = kind_counts()
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
