"""The tickets ``bench_sweep`` works on: one shop, buyer and order, and N returns spread over the return
states, a share of them due now, generated in SQL (PostgreSQL) or through the ORM (elsewhere, small N)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from kefu.core.vocabulary import ReturnState
from orders.models import Buyer, Channel, Order, OrderLine, OrderStatus, Shop
from routing.models import Department, StaffMember
from tickets.models import ReasonCode, ReturnTicket, Ticket, WaitingOn
from tickets.workflows.steps import BUYER

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
class Fixture:
    shop: Shop
    buyer: Buyer
    order: Order
    reason_id: int | None


def fixture_make() -> Fixture:
    """One shop, buyer, order and line every generated ticket concerns; two on-duty supervisors."""
    shop, _ = Shop.objects.get_or_create(code=BENCH_CODE, defaults={"name": "Benchmark shop", "channel": Channel.TMALL})
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


def fixture_delete() -> None:
    Order.objects.filter(shop__code=BENCH_CODE).delete()
    Buyer.objects.filter(shop__code=BENCH_CODE).delete()
    Shop.objects.filter(code=BENCH_CODE).delete()
    get_user_model().objects.filter(username__startswith=f"{BENCH_CODE}-supervisor-").delete()


# -- generating ------------------------------------------------------------------------------------


def generate_sql(fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> None:
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
            number, kind, state, platform, description, priority, department, waiting_on, step_started_at,
            step_department, step_due_at, due_at, warn_at, sla_breached, escalation_level, version,
            created_at, updated_at, closed_at, shop_id, order_id, buyer_id, reason_id)
        SELECT %s || lpad(g::text, 9, '0'), 'return', state, '', '', 20, department, waiting_on, started,
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


def generate_python(fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> None:
    Ticket.objects.bulk_create(python_rows(fixture, n=n, due=due, now=now, seed=seed), batch_size=1000)


def python_rows(fixture: Fixture, *, n: int, due: int, now: datetime, seed: int) -> Iterator[Ticket]:
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


def generate_children() -> None:
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
