"""The demo's last 30 days: a few hundred tickets that lived their lives, so the dashboard and the figures have a
history on first start.

Every ticket is opened and moved through the same services as real ones (``return_open``, ``ticket_claim``,
``ticket_act``, the refund payment path), with the clock moved to each step's moment (``time_machine``, every
``timezone.now()`` and every ``default=timezone.now`` column follows it). So the timelines, the steps' durations
and deadlines, met or breached, are what the engine itself wrote: nothing is back-dated afterwards.

The tickets are spread over the 30 days before now across the four demo shops (channels), the four kinds and the
departments, opened by buyers, claimed and worked by the demo staff (ops1, wh1, lg1, sup1, fin1 records payouts);
about one step in seven takes longer than its deadline. A step that would fall after now is not taken: the
recent tickets stay open where they are, as a real queue would hold them.

Findable: the history's buyers' external ids start with ``HISTORY_BUYER_PREFIX``; ``history_tickets()`` and
``history_resolved_tickets()`` return them (the satisfaction answers of another demo module hang off the latter).
Idempotent: when history tickets exist, ``history_build`` adds none. Deterministic (a seeded random generator).
"""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import time_machine
from django.db.models import F, QuerySet
from django.utils import timezone

from desk.demo.setup import CATALOG, DEMO_SHOP_CODES
from kefu.core.errors import DomainError
from notifications.models import Notification
from notifications.models import Status as NotificationStatus
from orders.models import Order
from tickets import services as svc
from tickets.actors import Actor
from tickets.models import ComplaintCategory, ExceptionType, Severity, Ticket
from tickets.services.deadlines import sweep_due, ticket_process_due
from tickets.types import LineRequest

if TYPE_CHECKING:
    from desk.demo.scenarios import Demo

logger = logging.getLogger(__name__)

HISTORY_DAYS = 30
# How many tickets the history opens (``KEFU_DEMO_HISTORY_TICKETS``; the test suite makes a small one).
HISTORY_TICKETS = 240
HISTORY_BUYER_PREFIX = "hist-"
LATE_SHARE = 0.15  # about one step in seven is late
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟 芳 娜 敏 静 丽 强 磊 洋 艳 勇 杰 娟 涛 明 超 秀英 晨 婷".split()
# (sku, quantity) of the history's orders: one or two lines each.
BASKETS = [
    [("TEE-WHT-M", 2)],
    [("TEE-WHT-L", 1), ("MUG-BLUE", 2)],
    [("KETTLE-17", 1)],
    [("PILLOW-MF", 2)],
    [("SHOE-RUN-42", 1)],
    [("SHOE-RUN-43", 1), ("TOWEL-SET3", 1)],
    [("EARBUDS-BT", 1)],
    [("LAMP-LED", 1), ("MUG-BLUE", 1)],
    [("RICE-COOKER", 1)],
]
RETURN_REASONS = [
    ("seven_days_no_reason", "不想要了。"),
    ("quality_problem", "用了两天就坏了。"),
    ("not_as_described", "和详情页的描述不一样。"),
    ("missing_or_wrong_item", "发错了颜色。"),
    ("quality_problem", "有明显划痕。"),
]


def history_tickets() -> QuerySet[Ticket]:
    """Every ticket of the demo's history (not the scenarios' tickets of today)."""
    return Ticket.objects.filter(shop__code__in=DEMO_SHOP_CODES, buyer__external_id__startswith=HISTORY_BUYER_PREFIX)


def history_resolved_tickets() -> QuerySet[Ticket]:
    """The history's tickets that ended with an outcome (refunded, completed, closed), not withdrawn."""
    return history_tickets().filter(closed_at__isnull=False).exclude(state="cancelled")


class Stop(Exception):
    """The next step would fall after now: the ticket stays where it is."""


@dataclass
class Life:
    """One ticket's life on the moved clock: each step waits, then acts, unless that would be in the future."""

    demo: Demo
    clock: Any  # time_machine's traveller
    now: datetime  # the real now: no step after it
    rng: random.Random
    at: datetime
    ticket: Any = None

    def wait(self, hours: float, *, deadline_hours: float | None = None) -> None:
        """Move the clock on by about ``hours``; Stop if that is after now.

        ``deadline_hours`` is given for a step whose deadline escalates (an internal SLA): now and then the step
        is late, and the deadline sweep escalates the ticket at its deadline, as it would have (then the staff act).
        Steps whose deadline runs an automatic transition (approve after 48 h, …) are never late here.
        """
        if deadline_hours is not None and self.rng.random() < LATE_SHARE:
            hours = deadline_hours * self.rng.uniform(1.1, 1.8)
            at = self.at + timedelta(hours=hours)
        else:
            at = self.at + timedelta(hours=hours * self.rng.uniform(0.5, 1.5))
            if deadline_hours is not None:
                at = min(at, self.at + timedelta(hours=deadline_hours * 0.9))
        if at > self.now:
            raise Stop
        due = self.ticket.due_at if self.ticket is not None else None
        if due is not None and self.at < due < at:
            self.clock.move_to(due + timedelta(minutes=1))
            ticket_process_due(ticket_id=self.ticket.pk, kind=self.ticket.kind, now=timezone.now())
            self.ticket.refresh_from_db()
        self.at = at
        self.clock.move_to(at)

    def act(self, actor: Actor, action: str, hours: float, deadline_hours: float | None = None, **inputs: Any) -> None:
        self.wait(hours, deadline_hours=deadline_hours)
        self.ticket = svc.ticket_act(ticket=self.ticket, actor=actor, action=action, **inputs)

    def claim(self, staff: str, hours: float = 0.5) -> None:
        """The department's staff member takes the ticket when routing left it unassigned."""
        self.ticket.refresh_from_db()
        if self.ticket.assignee_id is None and self.ticket.closed_at is None:
            self.wait(hours)
            self.ticket = svc.ticket_claim(ticket=self.ticket, actor=self.demo.staff[staff])


def history_size() -> int:
    return int(os.environ.get("KEFU_DEMO_HISTORY_TICKETS") or HISTORY_TICKETS)


def history_build(demo: Demo, *, tickets: int | None = None, seed: int = 15) -> int:
    """Make the history (unless it exists); returns how many tickets were opened. Inside the caller's transaction.

    The history ends at the start of today (UTC), so two runs on one day make the same history (``--reset``).
    Tickets left overdue at the end are then swept once, now, as the beat would on start.
    """
    if history_tickets().exists():
        return 0
    tickets = history_size() if tickets is None else tickets
    rng = random.Random(seed)  # noqa: S311 -- a reproducible demo, not a secret
    now = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    start = now - timedelta(days=HISTORY_DAYS)
    # Opening moments spread over the 30 days, in office and evening hours, oldest first (the clock only moves on).
    moments = sorted(
        start.replace(hour=0, minute=0) + timedelta(days=rng.randrange(HISTORY_DAYS + 1), hours=rng.uniform(1, 14))
        for _ in range(tickets)
    )
    moments = [moment for moment in moments if start < moment < now - timedelta(hours=1)]
    if not moments:
        return 0
    # How often each life is lived: returns most, then exchanges, complaints and parcels.
    weights: list[tuple[Callable[[Life, Order], None], int]] = [
        (_return_refunded, 8),
        (_return_partly, 2),
        (_refund_only, 3),
        (_return_rejected, 2),
        (_return_cancelled, 1),
        (_exchange_completed, 4),
        (_exchange_rejected, 1),
        (_complaint, 4),
        (_logistics_found, 2),
        (_logistics_refund, 2),
        (_logistics_compensated, 2),
    ]
    lives = [lived for lived, weight in weights for _ in range(weight)]
    made = 0
    with time_machine.travel(moments[0], tick=False) as clock:
        for number, opened_at in enumerate(moments):
            life = Life(demo=demo, clock=clock, now=now, rng=rng, at=opened_at)
            clock.move_to(opened_at)
            shop = DEMO_SHOP_CODES[number % len(DEMO_SHOP_CODES)]
            order = _order(demo, rng, shop, number)
            try:
                rng.choice(lives)(life, order)
            except Stop:
                pass
            except DomainError as error:
                # A refusal the engine is right to give (e.g. a refund cap): the ticket stays as it is.
                logger.info("demo history: %s stays %s: %s", life.ticket, getattr(life.ticket, "state", None), error)
            made += 1
    # The messages of a month ago went out at the time: the delivery log shows them sent when they were made, and
    # the worker does not send a month of e-mails and SMS on its first start. (Delivery only takes pending rows.)
    Notification.objects.filter(ticket__in=history_tickets(), status=NotificationStatus.PENDING).update(
        status=NotificationStatus.SENT, sent_at=F("created_at"), attempts=1
    )
    sweep_due()  # what the beat does first on start: escalate or close the tickets whose time ran out meanwhile
    return made


def _order(demo: Demo, rng: random.Random, shop: str, number: int) -> Order:
    index = number % 97  # a buyer comes back now and then, under the same name
    name = SURNAMES[index % len(SURNAMES)] + GIVEN[index * 7 % len(GIVEN)]
    buyer = (f"{HISTORY_BUYER_PREFIX}{demo.prefix[shop].lower()}-{index:03d}", name)
    demo.now = timezone.now()
    carrier = "JD" if shop == "demo-jd" else rng.choice(["SF", "YTO", "ZTO"])
    return demo.order(shop, buyer, rng.choice(BASKETS), delivered_days_ago=rng.uniform(0.5, 4), carrier=carrier)


def _line(order: Order) -> LineRequest:
    line = order.lines.order_by("pk")[0]
    return LineRequest(sku=line.sku, quantity=1)


# -- the lives ---------------------------------------------------------------------------------------------------


def _return_open(life: Life, order: Order, *, refund_only: bool = False) -> None:
    reason, text = life.rng.choice(RETURN_REASONS[1:] if refund_only else RETURN_REASONS)
    life.ticket = svc.return_open(
        order=order,
        actor=life.demo.buyer(order),
        lines=[_line(order)],
        reason_code=reason,
        refund_only=refund_only,
        description=text,
    )
    life.claim("ops1")


def _paid(life: Life) -> None:
    """The worker submits the refund within minutes; finance records a manual payout within the day."""
    life.wait(4, deadline_hours=24)
    life.demo.pay_refunds(life.ticket)
    life.ticket.refresh_from_db()


def _returned(life: Life, order: Order) -> None:
    ops, wh = life.demo.staff["ops1"], life.demo.staff["wh1"]
    life.act(ops, "approve", 6, reason="同意退货，请寄回。")
    life.wait(30)
    life.ticket = life.demo.ship_back(life.ticket, order, "YTO", "YT")
    life.claim("wh1", 40)
    life.act(wh, "receive", 10)


def _return_refunded(life: Life, order: Order) -> None:
    _return_open(life, order)
    _returned(life, order)
    life.act(life.demo.staff["wh1"], "pass_inspection", 8, deadline_hours=24)
    _paid(life)


def _return_partly(life: Life, order: Order) -> None:
    _return_open(life, order)
    _returned(life, order)
    paid = order.lines.order_by("pk")[0]
    amount = (paid.paid_amount / paid.quantity * Decimal("0.7")).quantize(Decimal("0.01"))
    life.act(life.demo.staff["wh1"], "pass_inspection_partly", 8, 24, amount=amount, reason="外包装缺失，扣除 30%。")
    _paid(life)


def _refund_only(life: Life, order: Order) -> None:
    _return_open(life, order, refund_only=True)
    life.act(life.demo.staff["ops1"], "approve", 3, reason="核实无误，仅退款。")
    _paid(life)


def _return_rejected(life: Life, order: Order) -> None:
    _return_open(life, order)
    life.act(life.demo.staff["ops1"], "reject", 8, reason="商品已使用，不符合退货条件。")
    life.act(life.demo.buyer(order), "accept_rejection", 20)


def _return_cancelled(life: Life, order: Order) -> None:
    _return_open(life, order)
    life.act(life.demo.buyer(order), "cancel", 3, reason="不退了。")


def _exchange_completed(life: Life, order: Order) -> None:
    wh = life.demo.staff["wh1"]
    line = _line(order)
    replacement = "TEE-WHT-L" if line.sku == "TEE-WHT-M" else line.sku
    life.ticket = svc.exchange_open(
        order=order,
        actor=life.demo.buyer(order),
        lines=[line],
        reason_code="wrong_size_colour",
        replacement_sku=replacement,
        replacement_name=CATALOG[replacement].name,
        description="想换一个。",
    )
    life.claim("ops1")
    _returned(life, order)
    life.act(wh, "pass_inspection", 8, deadline_hours=24)
    life.act(wh, "ship_replacement", 20, 48, carrier="SF", tracking_number=life.demo.tracking_number("SF"))
    life.act(life.demo.buyer(order), "confirm_receipt", 60)


def _exchange_rejected(life: Life, order: Order) -> None:
    line = _line(order)
    life.ticket = svc.exchange_open(
        order=order,
        actor=life.demo.buyer(order),
        lines=[line],
        reason_code="wrong_size_colour",
        replacement_sku=line.sku,
        replacement_name=CATALOG[line.sku].name,
        description="换个新的。",
    )
    life.claim("ops1")
    life.act(life.demo.staff["ops1"], "reject", 10, reason="请先上传问题照片。")
    life.act(life.demo.buyer(order), "accept_rejection", 30)


def _complaint(life: Life, order: Order) -> None:
    ops = life.demo.staff["ops1"]
    category = life.rng.choice(list(ComplaintCategory))
    life.ticket = svc.complaint_open(
        order=order,
        actor=life.demo.buyer(order),
        category=category,
        severity=life.rng.choice([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
        description="希望尽快处理。",
    )
    life.claim("ops1", 0.2)
    life.act(ops, "acknowledge", 1, deadline_hours=2)
    life.act(ops, "investigate", 6, deadline_hours=24)
    life.act(ops, "propose_resolution", 20, 72, resolution="已致歉，并补偿 10 元无门槛优惠券。")
    life.act(life.demo.buyer(order), "accept_resolution", 12)


def _logistics_open(life: Life, order: Order, exception: str) -> None:
    life.ticket = svc.logistics_open(
        order=order,
        actor=life.demo.buyer(order),
        exception_type=exception,
        shipment=order.shipments.get(),
        description="快递有问题，请帮忙查一下。",
    )
    life.claim("lg1")
    life.act(life.demo.staff["lg1"], "investigate", 6, 24, carrier_claim_number=f"CLAIM-{life.ticket.pk:05d}")


def _logistics_found(life: Life, order: Order) -> None:
    lg = life.demo.staff["lg1"]
    _logistics_open(life, order, ExceptionType.DELAYED)
    life.act(lg, "mark_found", 24, deadline_hours=72, reason="包裹已找到，正在派送。")
    life.act(lg, "resolve", 10, deadline_hours=24)
    life.act(life.demo.buyer(order), "confirm", 20)


def _logistics_refund(life: Life, order: Order) -> None:
    lg = life.demo.staff["lg1"]
    _logistics_open(life, order, ExceptionType.LOST)
    life.act(lg, "refund", 30, deadline_hours=72, reason="快递确认丢件，先行退款。")
    refund = Ticket.objects.filter(origin=life.ticket).first()
    if refund is not None:
        life.wait(4)
        life.demo.pay_refunds(refund)  # the paid refund resolves the logistics ticket (tickets.services.refunds)
        life.ticket.refresh_from_db()
    if life.ticket.state == "refunding":
        life.act(life.demo.staff["ops1"], "resolve", 6, deadline_hours=48)
    life.act(life.demo.buyer(order), "confirm", 20)


def _logistics_compensated(life: Life, order: Order) -> None:
    _logistics_open(life, order, ExceptionType.DAMAGED)
    life.act(life.demo.staff["lg1"], "compensate", 20, 72, amount=Decimal("20.00"), reason="买家同意补偿，不退货。")
    life.act(life.demo.staff["ops1"], "resolve", 10, deadline_hours=48)
    life.act(life.demo.buyer(order), "confirm", 20)
