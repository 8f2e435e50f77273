"""A small desk with known figures, shared by the dashboard's client and browser tests.

``desk_build()`` makes, relative to now:

open tickets (6, of which 2 overdue)
    return · requested   operations  1 (overdue)   MUG-BLUE, quality_problem
    return · received    warehouse   2 (1 overdue) MUG-BLUE, seven_days_no_reason / TEE-M, quality_problem
    exchange · requested operations  1             TEE-M, wrong_size_colour, opened 10 days ago
    complaint · open     operations  1             opened 40 days ago
    logistics · reported logistics   1             opened 1 day ago
closed: return · refunded, opened 3 days ago, MUG-BLUE, quality_problem

steps ended (timeline entries with step figures)
    last 7 days: warehouse 3 met + 1 breached (75 %), operations 1 met + 1 without deadline (100 %),
                 the buyer 1 breached (not a department: left out of the SLA chart)
    8-30 days ago: operations 1 breached (so 50 % over 30 days)
    40 days ago: supervisors 1 met (outside both periods)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tests.factories.orders import OrderFactory, OrderLineFactory
from tests.factories.tickets import ticket_build
from tickets.actors import ActorKind
from tickets.models import EventType, ReasonCode, Ticket, TicketEvent


@dataclass
class Desk:
    now: datetime
    tickets: dict[str, Ticket]


def order_of(sku: str, name: str, quantity: int = 2):
    order = OrderFactory()
    OrderLineFactory(order=order, sku=sku, name=name, quantity=quantity)
    return order


def step_event(
    ticket: Ticket,
    *,
    at: datetime,
    state: str,
    department: str,
    seconds: int,
    met: bool | None,
    deadline: timedelta | None = timedelta(hours=24),
) -> TicketEvent:
    """A timeline entry that ends a step, with its figures (as the engine writes them)."""
    started = at - timedelta(seconds=seconds)
    return TicketEvent.objects.create(
        ticket=ticket,
        event_type=EventType.TRANSITION,
        created_at=at,
        actor_kind=ActorKind.SYSTEM,
        actor_name="dashboard test",
        transition="test",
        from_state=state,
        to_state="next",
        step_state=state,
        step_department=department,
        step_started_at=started,
        step_due_at=started + deadline if deadline else None,
        step_seconds=seconds,
        step_met=met,
    )


@transaction.atomic  # the factories route tickets (row locks), also in transactional tests
def desk_build() -> Desk:
    now = timezone.now()
    reason = {r.code: r for r in ReasonCode.objects.all()}
    mug, tee = ("MUG-BLUE", "陶瓷马克杯 湖蓝"), ("TEE-M", "纯棉T恤 M")
    t: dict[str, Ticket] = {}
    t["r1"] = ticket_build("return", "requested", order=order_of(*mug), reason=reason["quality_problem"])
    t["r2"] = ticket_build("return", "received", order=order_of(*mug), reason=reason["seven_days_no_reason"])
    t["r3"] = ticket_build("return", "received", order=order_of(*tee), reason=reason["quality_problem"])
    t["x1"] = ticket_build(
        "exchange",
        "requested",
        order=order_of(*tee),
        reason=reason["wrong_size_colour"],
        created_at=now - timedelta(days=10),
    )
    t["c1"] = ticket_build("complaint", "open", created_at=now - timedelta(days=40))
    t["l1"] = ticket_build("logistics", "reported", created_at=now - timedelta(days=1))
    t["r4"] = ticket_build(
        "return",
        "refunded",
        order=order_of(*mug),
        reason=reason["quality_problem"],
        created_at=now - timedelta(days=3),
    )
    # Overdue now: the current step's deadline has passed.
    Ticket.objects.filter(pk__in=[t["r1"].pk, t["r3"].pk]).update(step_due_at=now - timedelta(hours=1))

    anchor = t["r4"]
    day = timedelta(days=1)
    step_event(anchor, at=now - day, state="received", department="warehouse", seconds=3600, met=True)
    step_event(anchor, at=now - 2 * day, state="received", department="warehouse", seconds=7200, met=True)
    step_event(
        anchor,
        at=now - 2 * day,
        state="return_in_transit",
        department="warehouse",
        seconds=86400,
        met=True,
        deadline=timedelta(days=10),
    )
    step_event(anchor, at=now - 3 * day, state="received", department="warehouse", seconds=100800, met=False)
    step_event(anchor, at=now - day, state="requested", department="operations", seconds=1800, met=True)
    step_event(
        anchor, at=now - day, state="refund_pending", department="operations", seconds=600, met=None, deadline=None
    )
    step_event(
        anchor,
        at=now - day,
        state="awaiting_return",
        department="",
        seconds=8 * 86400,
        met=False,
        deadline=timedelta(days=7),
    )
    step_event(anchor, at=now - 20 * day, state="requested", department="operations", seconds=180000, met=False)
    step_event(anchor, at=now - 40 * day, state="arbitration", department="supervisors", seconds=3600, met=True)
    return Desk(now=now, tickets=t)


KINDS_AND_STATES = [
    ("return", "requested"),
    ("return", "received"),
    ("exchange", "requested"),
    ("complaint", "open"),
    ("logistics", "reported"),
    ("return", "refunded"),
]


@transaction.atomic
def tickets_add(count: int, start: int) -> None:
    """``count`` tickets of varied kinds, states, SKUs, reasons and days, each with a step that ended."""
    reasons = [r for r in ReasonCode.objects.all() if "return" in r.kinds and "exchange" in r.kinds]
    now = timezone.now()
    for i in range(start, start + count):
        kind, state = KINDS_AND_STATES[i % len(KINDS_AND_STATES)]
        fields = {"created_at": now - timedelta(days=i % 35)}
        if kind in ("return", "exchange"):
            fields["reason"] = reasons[i % len(reasons)]
        ticket = ticket_build(kind, state, order=order_of(f"SKU-{i % 13}", f"item {i % 13}"), **fields)
        step_event(
            ticket,
            at=now - timedelta(days=i % 31),
            state=state,
            department=["operations", "warehouse", ""][i % 3],
            seconds=600 * (i + 1),
            met=[True, False, None][i % 3],
        )
