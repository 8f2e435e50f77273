"""Money splits (kefu.core.money) and the refunds built on them (issue 12, "Money arithmetic").

Properties over random amounts and quantities: a line's units sum exactly to what was paid, no unit is worth a
fen or more away from its exact share, tickets holding a line together never get more than was paid, and every
ticket's share can be refunded, whole or in random partial refunds that reach it exactly. The last property runs
the real services (opening, reservation under the row locks) on the test database.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kefu.core.money import from_fen, largest_remainder, to_fen, units_share
from orders.models import OrderLine
from tests.factories.tickets import buyer_actor, order_with_line
from tickets.models import TicketLine
from tickets.selectors import ticket_line_shares, ticket_refundable_amount
from tickets.services.opening import return_open
from tickets.services.refunds import refund_reserve
from tickets.types import LineRequest

fen_amounts = st.integers(min_value=1, max_value=10_000_000).map(from_fen)
quantities = st.integers(min_value=1, max_value=50)


@st.composite
def line_split(draw: st.DrawFn) -> tuple[Decimal, int, list[int]]:
    """A line (paid amount, quantity) and the quantities of the tickets holding it, in opening order."""
    paid = draw(fen_amounts)
    quantity = draw(quantities)
    parts: list[int] = []
    left = quantity
    while left:
        take = draw(st.integers(min_value=1, max_value=left))
        parts.append(take)
        left -= take
    return paid, quantity, parts


@given(paid=fen_amounts, weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=20))
def test_largest_remainder_parts_sum_exactly_and_stay_within_a_fen_of_their_quota(
    paid: Decimal, weights: list[int]
) -> None:
    if not any(weights):
        weights = [*weights, 1]
    parts = largest_remainder(paid, weights)
    assert sum(parts) == paid
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = Decimal(to_fen(paid) * weight) / whole  # in fen
        assert abs(to_fen(part) - exact) < 1
        assert part >= 0


@given(split=line_split())
def test_tickets_holding_a_whole_line_get_exactly_what_was_paid(split: tuple[Decimal, int, list[int]]) -> None:
    paid, quantity, parts = split
    offset = 0
    shares = []
    for count in parts:
        shares.append(units_share(paid, quantity, offset=offset, count=count))
        offset += count
    assert sum(shares) == paid
    units = largest_remainder(paid, [1] * quantity)
    for count, share in zip(parts, shares, strict=True):
        # Never above the dearest units' worth: no ticket takes more than its units' share.
        assert share <= sum(sorted(units, reverse=True)[:count])
        assert share >= 0


@given(split=line_split(), released=st.data())
def test_a_ticket_letting_its_units_go_never_lowers_a_later_share(
    split: tuple[Decimal, int, list[int]], released: st.DataObject
) -> None:
    paid, quantity, parts = split
    gone = released.draw(st.integers(min_value=0, max_value=len(parts) - 1))
    offsets = [sum(parts[:i]) for i in range(len(parts))]
    after = [sum(p for j, p in enumerate(parts[:i]) if j != gone) for i in range(len(parts))]
    for i, count in enumerate(parts):
        if i > gone:
            before_share = units_share(paid, quantity, offset=offsets[i], count=count)
            assert units_share(paid, quantity, offset=after[i], count=count) >= before_share


def test_the_issue_s_line_of_two_paid_100_01() -> None:
    assert units_share(Decimal("100.01"), 2, offset=0, count=1) == Decimal("50.01")
    assert units_share(Decimal("100.01"), 2, offset=1, count=1) == Decimal("50.00")
    assert largest_remainder(Decimal("100.01"), [1, 1]) == [Decimal("50.01"), Decimal("50.00")]


def test_an_amount_with_a_fraction_of_a_fen_is_refused() -> None:
    with pytest.raises(ValueError):
        to_fen(Decimal("0.005"))


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=line_split(), data=st.data())
def test_every_ticket_on_a_line_is_refunded_in_full_by_random_partial_refunds(
    split: tuple[Decimal, int, list[int]], data: st.DataObject
) -> None:
    """Open one refund-only return per part of the line, then refund each in random partial amounts: every
    reservation is accepted, each ticket reaches exactly its share, and the line exactly what was paid."""
    paid, quantity, parts = split
    # A unit worth nothing (¥0.01 over 2 items) cannot be asked back: no refund to open (the cap is ¥0.00).
    assume(to_fen(paid) >= quantity)
    parts = parts[:4]  # a handful of tickets is enough; each is a few queries
    order = order_with_line(quantity=quantity, paid_amount=paid)
    line = OrderLine.objects.get(order=order)
    tickets = [
        return_open(
            order=order,
            actor=buyer_actor(order),
            lines=[LineRequest("SKU-A", count)],
            reason_code="not_received",
            refund_only=True,
        )
        for count in parts
    ]
    shares = ticket_line_shares(list(TicketLine.objects.filter(order_line=line).select_related("order_line")))
    assert [t.requested_amount for t in tickets] == shares
    for ticket, share in zip(tickets, shares, strict=True):
        refunded = Decimal("0.00")
        while refunded < share:
            left = to_fen(share - refunded)
            amount = from_fen(data.draw(st.integers(min_value=1, max_value=left), label="partial refund (fen)"))
            refund_reserve(ticket=ticket, amount=amount, actor=buyer_actor(order))
            refunded += amount
        lines = TicketLine.objects.filter(ticket_id=ticket.pk).select_related("order_line")
        assert ticket_refundable_amount(lines=lines) == 0
        assert lines.get().refunded_amount == share
    line.refresh_from_db()
    assert line.refunded_amount == sum(shares[: len(parts)])
    if sum(parts) == quantity:
        assert line.refunded_amount == paid
