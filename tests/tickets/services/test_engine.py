"""The one path every change takes (tickets.services.engine): stale copies, protected state, ticket numbers,
and all-or-nothing transitions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import OrderLine
from tests.factories.tickets import (
    buyer_actor,
    order_with_line,
    staff_actor,
    system_actor,
    ticket_build,
    ticket_reload,
)
from tickets.errors import InvalidAmount, InvalidReason, RefundExceedsPaid, TicketChanged, TransitionNotAllowed
from tickets.models import (
    ComplaintTicket,
    ExchangeTicket,
    LogisticsTicket,
    ReasonCode,
    Refund,
    ReturnTicket,
    Ticket,
    TicketEvent,
)
from tickets.services import ticket_act
from tickets.services.engine import ticket_transition
from tickets.services.opening import return_open, ticket_number
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db


# -- concurrent changes ----------------------------------------------------------------------------------


def test_acting_on_a_stale_copy_is_a_conflict_and_changes_nothing() -> None:
    ticket = ticket_build("return", "requested")
    mine, theirs = ticket_reload(ticket), ticket_reload(ticket)
    ticket_act(ticket=theirs, actor=staff_actor("operations"), action="approve")

    with pytest.raises(TicketChanged) as conflict:
        ticket_transition(ticket=mine, actor=staff_actor("operations"), transition="reject", reason="不符合条件")

    assert conflict.value.code == "ticket_changed"
    assert ticket.number in conflict.value.message and "reload" in conflict.value.message
    assert conflict.value.params == {"current_state": "awaiting_return", "current_version": 1}
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version) == ("awaiting_return", 1)
    assert list(TicketEvent.objects.filter(ticket=ticket, event_type="transition").values_list("transition")) == [
        ("approve",)
    ]


def test_two_approvals_of_the_same_copy_give_one_approval_and_one_conflict() -> None:
    ticket = ticket_build("return", "requested")
    copy = ticket_reload(ticket)
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    with pytest.raises(TicketChanged):
        ticket_act(ticket=copy, actor=staff_actor("operations"), action="approve")
    assert TicketEvent.objects.filter(ticket=ticket, transition="approve").count() == 1


def test_the_returned_ticket_is_current_and_may_act_again() -> None:
    ticket = ticket_build("return", "requested")
    approved = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    cancelled = ticket_transition(ticket=approved, actor=buyer_actor(ticket), transition="cancel")
    assert (cancelled.state, cancelled.version) == ("cancelled", 2)


# -- the state field -------------------------------------------------------------------------------------


def test_the_state_cannot_be_set_directly() -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(AttributeError):
        ticket.state = "refunded"
    loaded = ReturnTicket.objects.get(pk=ticket.pk)
    with pytest.raises(AttributeError):
        loaded.state = "refunded"
    assert ticket_reload(ticket).state == "requested"


def test_a_base_ticket_is_acted_on_as_its_kind() -> None:
    ticket = ticket_build("exchange", "requested")
    base = Ticket.objects.get(pk=ticket.pk)
    result = ticket_transition(ticket=base, actor=system_actor(), transition="approve")
    assert isinstance(result, ExchangeTicket)
    assert result.state == "awaiting_return"


def test_an_unknown_action_is_refused_by_name() -> None:
    ticket = ticket_build("return", "requested")
    with pytest.raises(TransitionNotAllowed, match="'refund_twice' is not an action"):
        ticket_transition(ticket=ticket, actor=system_actor(), transition="refund_twice")


def test_a_reason_given_to_any_transition_is_on_the_timeline() -> None:
    ticket = ticket_build("return", "requested")
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="老客户, 直接同意")
    assert TicketEvent.objects.get(ticket=ticket, transition="approve").reason == "老客户, 直接同意"


# -- ticket numbers --------------------------------------------------------------------------------------


def test_an_opened_ticket_is_numbered_by_local_date_and_id() -> None:
    order = order_with_line()
    ticket = return_open(
        order=order, actor=buyer_actor(order), lines=[LineRequest("SKU-A", 1)], reason_code="quality_problem"
    )
    stored = ticket_reload(ticket)
    assert re.fullmatch(r"RT\d{8}\d{6,}", stored.number)
    assert stored.number == f"RT{timezone.localtime(stored.created_at):%Y%m%d}{stored.pk:06d}"


@pytest.mark.parametrize(
    ("model", "pk", "number"),
    [
        (ReturnTicket, 123, "RT20261122000123"),
        (ExchangeTicket, 7, "EX20261122000007"),
        (ComplaintTicket, 45678, "CP20261122045678"),
        (LogisticsTicket, 1234567, "LG202611221234567"),  # past a million the id just grows
    ],
)
def test_the_number_uses_the_date_in_shanghai(model: type[Ticket], pk: int, number: str) -> None:
    # 16:30 UTC on the 21st is 00:30 on the 22nd in Asia/Shanghai.
    ticket = model(pk=pk, created_at=datetime(2026, 11, 21, 16, 30, tzinfo=UTC))
    assert ticket_number(ticket) == number


# -- all or nothing --------------------------------------------------------------------------------------


def assert_untouched(ticket: Ticket, *, state: str, line_refunded: Decimal = Decimal("0.00")) -> None:
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version, stored.due_at) == (state, ticket.version, ticket.due_at)
    assert not TicketEvent.objects.filter(ticket=ticket).exclude(event_type="created").exists()
    assert not Refund.objects.filter(ticket=ticket).exists()
    assert OrderLine.objects.get(order=ticket.order).refunded_amount == line_refunded


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("100.00"), Decimal("150.00"), Decimal("33.335")])
def test_a_transition_refusing_its_input_writes_nothing(amount: Decimal) -> None:
    ticket = ticket_build("return", "received", goods_received=True)
    with pytest.raises(InvalidAmount):
        ticket_act(
            ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection_partly", amount=amount, reason="划痕"
        )
    assert_untouched(ticket, state="received")
    assert ticket_reload(ticket).approved_amount is None


def test_a_failure_after_the_state_was_saved_rolls_everything_back() -> None:
    # The refund is reserved after the new state and its event were written; refusing it undoes them.
    order = order_with_line(quantity=1, paid_amount=Decimal("100.00"))
    OrderLine.objects.filter(order=order).update(refunded_amount=Decimal("60.00"))
    ticket = ticket_build("return", "received", order=order, requested_amount=Decimal("100.00"), goods_received=True)

    with pytest.raises(RefundExceedsPaid):
        ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")

    assert_untouched(ticket, state="received", line_refunded=Decimal("60.00"))


def test_a_failing_follow_up_rolls_back_the_transition_that_caused_it() -> None:
    # Converting an exchange opens the refund in the same transaction; if opening it fails, the exchange stays.
    ReasonCode.objects.filter(code="out_of_stock").update(active=False)
    exchange = ticket_build("exchange", "replacement_pending", goods_received=True)

    with pytest.raises(InvalidReason):
        ticket_act(ticket=exchange, actor=staff_actor("warehouse"), action="convert_to_refund", reason="缺货")

    assert_untouched(exchange, state="replacement_pending")
    assert not ReturnTicket.objects.exists()
