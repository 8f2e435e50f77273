"""Races on PostgreSQL: the same change, or changes that only fit one at a time, at the same moment.

Each test starts real threads, each with its own database connection, lets every thread prepare (load its
own copy of the ticket), then releases them together with a ``threading.Barrier``. They show that the
row locks and the optimistic check hold under real contention: one approval out of many, refunds never
above what was paid (and the losers told so with ``refund_exceeds_paid``), one ticket for the last item.

Each test was checked against the lock it relies on, by removing that lock:

- ``refund_reserve`` without ``select_for_update`` on the order lines: all ten reservations of the penny
  line succeed and the line records less than was reserved (it writes the new total: a lost update the
  check constraint cannot see);
- the approval race needs both line locks gone (``refund_reserve``'s and the engine's
  ``order_lines_lock``): then 4 of 4 and 10 of 10 approvals go through instead of 3 and 7;
- ``order_lines_locked`` (tickets.services.eligibility): several tickets take the last item;
- the engine's ``order_lines_lock``: opening and a passed inspection on the same order deadlock;
- the stalled-parcel check in ``logistics_open``: the losers get the unique constraint's ``IntegrityError``.

PostgreSQL only (SQLite serialises writers, so nothing would race): skipped elsewhere, failing in CI
(tests/markers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from pytest_django import Settings

from kefu import celery_app
from kefu.core.errors import Conflict
from kefu.core.vocabulary import STATES_BY_KIND
from orders.models import OrderLine
from tests.factories.orders import OrderLineFactory, ShipmentFactory
from tests.markers import requires_postgres
from tests.racing import race, split, staff
from tests.tickets.services.gateways import RECORDING, paying_gateway
from tickets.actors import Actor
from tickets.errors import (
    QuantityNotReturnable,
    RefundExceedsPaid,
    StalledParcelReported,
    TicketChanged,
    TransitionNotAllowed,
)
from tickets.locks import ticket_lock
from tickets.models import (
    EventType,
    LogisticsTicket,
    Refund,
    RefundStatus,
    ReturnTicket,
    Ticket,
    TicketEvent,
    TicketLine,
)
from tickets.selectors import returnable_quantities, ticket_replayed_state
from tickets.services import exchange_open, logistics_open, refund_reserve, return_open, ticket_act
from tickets.types import LineRequest

# serialized_rollback: the rows data migrations ship (reason codes, departments) come back after each flush.
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def refunds_paid_in_process(settings: Settings):
    """Run the refund payment task in the committing thread (Celery's eager mode), not through the broker.

    These tests commit, so ``refund_reserve``'s ``on_commit`` fires: with the configured broker its message
    would outlive the test database (and a dev worker would try to pay it). Eager mode pays it right away through
    a test gateway that pays at once (the finance queue's manual payout would leave it waiting), and an error in it
    fails the test.
    """
    paying_gateway(settings, RECORDING)
    conf = celery_app.conf
    saved = (conf.task_always_eager, conf.task_eager_propagates)
    conf.task_always_eager, conf.task_eager_propagates = True, True
    yield
    conf.task_always_eager, conf.task_eager_propagates = saved


def assert_database_consistent() -> None:
    """Every timeline replays to its ticket's state; refunds per line stay within paid and add up."""
    for ticket in Ticket.objects.all():
        assert ticket.state in STATES_BY_KIND[ticket.kind].values, ticket
        assert ticket_replayed_state(ticket=ticket) == ticket.state, f"{ticket} timeline does not replay"
        transitions = TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION).count()
        assert ticket.version == transitions, f"{ticket}: version {ticket.version}, {transitions} transitions"
        reserved = Refund.objects.filter(ticket_id=ticket.pk).aggregate(s=Sum("amount"))["s"] or Decimal("0")
        allocated = TicketLine.objects.filter(ticket_id=ticket.pk).aggregate(s=Sum("refunded_amount"))["s"]
        assert reserved == (allocated or Decimal("0")), ticket
    for line in OrderLine.objects.all():
        assert line.refunded_amount <= line.paid_amount, line
        by_tickets = line.ticket_lines.aggregate(s=Sum("refunded_amount"))["s"] or Decimal("0")
        assert line.refunded_amount == by_tickets, line


@pytest.mark.parametrize("refund_only", [False, True], ids=["goods-back", "refund-only"])
def test_eight_people_approving_the_same_return_at_once_give_one_approval(refund_only: bool) -> None:
    line = OrderLineFactory(quantity=2, unit_price=Decimal("50.00"))
    order = line.order
    ticket = return_open(
        order=order,
        actor=Actor.for_buyer(order.buyer),
        lines=[LineRequest(sku=line.sku, quantity=1)],
        reason_code="quality_problem",
        refund_only=refund_only,
    )
    approvers = [staff(f"ops-{i}", "operations") for i in range(8)]

    outcomes = race(
        8,
        prepare=lambda i: ReturnTicket.objects.get(pk=ticket.pk),  # each its own copy, all at version 0
        act=lambda i, copy: ticket_act(ticket=copy, actor=approvers[i], action="approve"),
    )

    approved, refused = split(outcomes, TicketChanged, TransitionNotAllowed)
    assert len(approved) == 1
    assert len(refused) == 7
    for outcome in refused:
        error = outcome.error
        assert isinstance(error, Conflict) and error.http_status == 409
        assert error.code in {"ticket_changed", "transition_not_allowed"}
        assert ticket.number in error.message

    ticket.refresh_from_db()
    events = list(TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.TRANSITION))
    approvals = [e for e in events if e.transition == "approve"]
    assert len(approvals) == 1
    assert approvals[0].actor_name == approvers[outcomes.index(approved[0])].name  # the winner's, once
    if refund_only:
        # The one approval reserved one refund, which the gateway then paid: approve, then complete_refund.
        assert [e.transition for e in events] == ["approve", "complete_refund"]
        assert ticket.state == "refunded"
        assert ticket.version == 2
        refunds = list(Refund.objects.filter(ticket_id=ticket.pk))
        assert [(r.amount, r.status) for r in refunds] == [(Decimal("50.00"), RefundStatus.SUCCEEDED)]
        line.refresh_from_db()
        assert line.refunded_amount == Decimal("50.00")
    else:
        assert [e.transition for e in events] == ["approve"]
        assert ticket.state == "awaiting_return"
        assert ticket.version == 1
        assert not Refund.objects.exists()
    assert_database_consistent()


@pytest.mark.parametrize(
    ("quantity", "unit_price", "paid", "shares"),
    [
        # ¥99.98 for 4 after a discount: 9,998 fen in 4 units by the largest remainder, 2,500 + 2,500 + 2,499 + 2,499
        # (rounding each share of 24.995 up to 25.00 used to make 100.00, and the last item could not be refunded).
        pytest.param(4, "25.00", "99.98", ["25.00", "25.00", "24.99", "24.99"], id="discounted-line"),
        # 10 give-aways for ¥0.15: five of 0.02 and five of 0.01 (each rounded up to 0.02 only 7 used to fit).
        pytest.param(10, "0.02", "0.15", ["0.02"] * 5 + ["0.01"] * 5, id="penny-line"),
    ],
)
def test_refunds_of_every_item_at_once_add_up_to_exactly_what_was_paid(
    quantity: int, unit_price: str, paid: str, shares: list[str]
) -> None:
    """One refund-only ticket per item, each asking its share: the shares are the line's units by the largest
    remainder, so together they are exactly what was paid. Approved all at once, every one is refunded (the order
    line's lock orders them) and the line ends fully refunded, never above what was paid.
    """
    # Someone on duty in operations: routing assigns each ticket when it opens, so approving it
    # (operations to operations) hands nothing over and the order lines' locks alone decide the race.
    approvers = [staff(f"ops-{i}", "operations", on_duty=i == 0) for i in range(quantity)]
    line = OrderLineFactory(quantity=quantity, unit_price=Decimal(unit_price), paid_amount=Decimal(paid))
    order = line.order
    buyer = Actor.for_buyer(order.buyer)
    tickets = [
        return_open(
            order=order,
            actor=buyer,
            lines=[LineRequest(sku=line.sku, quantity=1)],
            reason_code="not_received",
            refund_only=True,
        )
        for _ in range(quantity)
    ]
    assert [t.requested_amount for t in tickets] == [Decimal(share) for share in shares]
    assert sum(t.requested_amount for t in tickets) == Decimal(paid)
    assert all(t.assignee_id == approvers[0].user.pk for t in tickets)

    outcomes = race(
        quantity,
        prepare=lambda i: ReturnTicket.objects.get(pk=tickets[i].pk),
        act=lambda i, copy: ticket_act(ticket=copy, actor=approvers[i], action="approve"),
    )

    approved, refused = split(outcomes, RefundExceedsPaid)
    assert (len(approved), refused) == (quantity, [])
    line.refresh_from_db()
    assert line.refunded_amount == line.paid_amount == Decimal(paid)
    for ticket in tickets:
        ticket.refresh_from_db()
        refunds = list(Refund.objects.filter(ticket_id=ticket.pk))
        assert ticket.state == "refunded"
        assert [(r.amount, r.status) for r in refunds] == [(ticket.requested_amount, RefundStatus.SUCCEEDED)]
    assert_database_consistent()


def test_refund_reservations_at_once_stop_at_what_the_line_has_left() -> None:
    """``refund_reserve`` itself, run as its callers run it (each holding its own ticket's row lock, nothing
    else): ten tickets, one per item of a line of 10 paid ¥0.15, each reserving its share (five of ¥0.02, five of
    ¥0.01) at once, then each asking ¥0.01 more. Only the reservation's own lock on the order line orders them:
    the ten shares fit exactly, every further fen is refused with ``refund_exceeds_paid`` and writes nothing."""
    line = OrderLineFactory(quantity=10, unit_price=Decimal("0.02"), paid_amount=Decimal("0.15"))
    order = line.order
    buyer = Actor.for_buyer(order.buyer)
    tickets = [
        return_open(
            order=order,
            actor=buyer,
            lines=[LineRequest(sku=line.sku, quantity=1)],
            reason_code="not_received",
            refund_only=True,
        )
        for _ in range(10)
    ]
    cashier = Actor.system("refund test")

    def reserve(amount_of: Callable[[int], Decimal]) -> Callable[[int, None], Refund]:
        def act(i: int, _: None) -> Refund:
            with transaction.atomic():
                locked = ticket_lock(ticket=tickets[i])
                return refund_reserve(ticket=locked, amount=amount_of(i), actor=cashier)

        return act

    shares = race(10, prepare=lambda i: None, act=reserve(lambda i: tickets[i].requested_amount))
    reserved, refused = split(shares, RefundExceedsPaid)
    assert (len(reserved), refused) == (10, [])
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("0.15")

    more = race(10, prepare=lambda i: None, act=reserve(lambda i: Decimal("0.01")))
    reserved, refused = split(more, RefundExceedsPaid)
    assert (len(reserved), len(refused)) == (0, 10)
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("0.15")
    for ticket in tickets:
        assert Refund.objects.filter(ticket_id=ticket.pk).count() == 1
    assert sum(r.amount for r in Refund.objects.all()) == line.refunded_amount
    assert_database_consistent()


def test_the_database_refuses_refunds_above_paid_even_without_the_service() -> None:
    """The backstop: the check constraint ``order_line_refund_within_paid`` holds against concurrent raw
    increments that take no lock and check nothing, so a wrong service could still not over-refund."""
    line = OrderLineFactory(quantity=1, unit_price=Decimal("100.00"))

    outcomes = race(
        6,
        prepare=lambda i: None,
        act=lambda i, _: OrderLine.objects.filter(pk=line.pk).update(
            refunded_amount=F("refunded_amount") + Decimal("30.00")
        ),
    )

    done, refused = split(outcomes, IntegrityError)
    assert len(done) == 3
    assert all("order_line_refund_within_paid" in str(o.error) for o in refused)
    line.refresh_from_db()
    assert line.refunded_amount == Decimal("90.00")


@pytest.mark.parametrize("kind", ["return", "exchange"])
def test_six_requests_for_the_last_returnable_item_create_one_ticket(kind: str) -> None:
    line = OrderLineFactory(quantity=3, unit_price=Decimal("40.00"))
    order = line.order
    buyer = Actor.for_buyer(order.buyer)
    return_open(order=order, actor=buyer, lines=[LineRequest(sku=line.sku, quantity=2)], reason_code="damaged")
    assert returnable_quantities(order)[line.pk] == 1

    def open_one(i: int, _: None) -> Ticket:
        lines = [LineRequest(sku=line.sku, quantity=1)]
        if kind == "return":
            return return_open(order=order, actor=buyer, lines=lines, reason_code="seven_days_no_reason")
        return exchange_open(
            order=order, actor=buyer, lines=lines, reason_code="wrong_size_colour", replacement_sku=f"{line.sku}-L"
        )

    outcomes = race(6, prepare=lambda i: None, act=open_one)

    opened, refused = split(outcomes, QuantityNotReturnable)
    assert len(opened) == 1
    assert len(refused) == 5
    for outcome in refused:
        assert outcome.error.code == "quantity_not_returnable"
        assert outcome.error.field == "lines[0].quantity"
        assert line.sku in outcome.error.message
    assert Ticket.objects.filter(order=order).count() == 2
    assert Ticket.objects.filter(order=order, kind=kind).count() == (2 if kind == "return" else 1)
    assert returnable_quantities(order)[line.pk] == 0
    assert TicketLine.objects.filter(order_line=line).aggregate(n=Sum("quantity"))["n"] == 3
    assert_database_consistent()


def test_opening_and_refunding_on_the_same_order_at_once_all_succeed() -> None:
    """Opening a ticket locks the order's lines, then routing picks someone on duty (locking the staff rows);
    an inspection passed at the warehouse hands the ticket to operations (routing picks someone there) and
    reserves the refund on the same lines. Done at the same moment on one order, every request succeeds:
    no deadlock, nobody refused."""
    staff("ops-on-duty", "operations", on_duty=True)
    inspector = staff("warehouse-on-duty", "warehouse", on_duty=True)
    returned = OrderLineFactory(quantity=4, unit_price=Decimal("25.00"))
    order = returned.order
    other = OrderLineFactory(order=order, quantity=4, unit_price=Decimal("10.00"))
    buyer = Actor.for_buyer(order.buyer)
    tickets = []
    for i in range(4):  # four parcels back at the warehouse, each waiting for its inspection
        ticket = return_open(
            order=order, actor=buyer, lines=[LineRequest(sku=returned.sku, quantity=1)], reason_code="damaged"
        )
        ticket = ticket_act(ticket=ticket, actor=Actor.system(), action="approve")
        ticket = ticket_act(
            ticket=ticket, actor=buyer, action="ship_back", carrier="SF", tracking_number=f"SF10000000{i}"
        )
        tickets.append(ticket_act(ticket=ticket, actor=inspector, action="receive"))
    assert {t.state for t in tickets} == {"received"}

    def act(i: int, copy: ReturnTicket | None) -> Ticket:
        if copy is not None:
            return ticket_act(ticket=copy, actor=inspector, action="pass_inspection")
        return return_open(
            order=order, actor=buyer, lines=[LineRequest(sku=other.sku, quantity=1)], reason_code="damaged"
        )

    outcomes = race(
        8,
        prepare=lambda i: ReturnTicket.objects.get(pk=tickets[i // 2].pk) if i % 2 == 0 else None,
        act=act,
    )

    done, _ = split(outcomes)
    assert len(done) == 8
    returned.refresh_from_db()
    assert returned.refunded_amount == Decimal("100.00")
    assert Ticket.objects.filter(order=order).count() == 8
    assert_database_consistent()


def test_a_parcel_reported_stalled_by_several_at_once_gets_one_ticket() -> None:
    """The buyer, staff and the stalled-parcel watch report the same silent parcel at the same moment: one
    ticket; the others are told it is already reported (``stalled_parcel_reported``), not a database error."""
    shipment = ShipmentFactory(order=OrderLineFactory().order)
    order = shipment.order
    reporters = [Actor.for_buyer(order.buyer), staff("lg-1", "logistics"), Actor.system("stalled parcel watch")] * 2

    outcomes = race(
        6,
        prepare=lambda i: None,
        act=lambda i, _: logistics_open(order=order, actor=reporters[i], exception_type="stalled", shipment=shipment),
    )

    opened, refused = split(outcomes, StalledParcelReported)
    assert len(opened) == 1
    assert all(o.error.code == "stalled_parcel_reported" and o.error.field == "shipment" for o in refused)
    assert LogisticsTicket.objects.filter(shipment=shipment).count() == 1
    assert_database_consistent()
