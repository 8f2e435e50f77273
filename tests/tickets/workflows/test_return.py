"""退货退款 / 仅退款: every allowed and every forbidden transition of a return, and who may run each.

The expected table is written out here from SPEC "return" (states, who acts, default deadlines) and the
transitions it describes; tests/tickets/workflows/matrix.py runs it through the engine.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories.tickets import ticket_build, ticket_reload
from tests.tickets.workflows.matrix import (
    END,
    Move,
    Table,
    buyer,
    check_allowed,
    check_covers_the_model,
    check_forbidden,
    check_role,
    merchant,
)
from tickets.models import Refund, ReturnTicket, TicketLine
from tickets.workflows.steps import days, hours

GOODS_BACK = {"goods_received": True}
OFFERED = {"offered_amount": Decimal("60.00"), "offer": "退 60 元，商品不用退回"}
ON_TAOBAO = {"platform": "taobao"}

RETURN = Table(
    kind="return",
    steps={
        "requested": merchant("operations", hours(48)),
        "rejected": buyer(days(7)),
        "awaiting_return": buyer(days(7)),
        "return_in_transit": merchant("warehouse", days(10)),
        "received": merchant("warehouse", hours(24)),
        "refund_pending": merchant("operations", hours(24)),
        "counter_offered": buyer(hours(72)),
        "arbitration": merchant("supervisors", hours(48)),
        "evidence_submitted": merchant("supervisors", days(7)),
        "refunded": END,
        "closed": END,
        "cancelled": END,
    },
    roles={
        "approve": ("operations", "system", "platform"),
        "reject": ("operations", "platform"),
        "modify": ("buyer",),
        "escalate": ("buyer", "platform"),
        "accept_rejection": ("buyer", "platform"),
        "expire": ("system",),
        "ship_back": ("buyer", "operations", "platform"),
        "receive": ("warehouse", "integration"),
        "auto_refund": ("system", "platform"),
        "pass_inspection": ("warehouse",),
        "pass_inspection_partly": ("warehouse",),
        "fail_inspection": ("warehouse",),
        "complete_refund": ("system", "platform"),
        "uphold_buyer": ("supervisors", "platform"),
        "uphold_rejection": ("supervisors", "platform"),
        "cancel": ("buyer", "platform"),
        "counter_offer": ("operations", "warehouse", "platform"),
        "accept_offer": ("buyer", "platform"),
        "decline_offer": ("buyer", "system", "platform"),
        "intervene": ("platform",),
        "submit_evidence": ("supervisors",),
        "request_evidence": ("platform",),
    },
    moves=(
        Move("requested", "approve", "awaiting_return", variant="goods back"),
        Move("requested", "approve", "refund_pending", {"refund_only": True}, variant="refund only"),
        Move("requested", "reject", "rejected"),
        Move("requested", "cancel", "cancelled"),
        Move("rejected", "modify", "requested"),
        Move("rejected", "escalate", "arbitration"),
        Move("rejected", "accept_rejection", "closed"),
        Move("rejected", "expire", "closed"),
        Move("rejected", "cancel", "cancelled"),
        Move("awaiting_return", "ship_back", "return_in_transit"),
        Move("awaiting_return", "expire", "closed"),
        Move("awaiting_return", "cancel", "cancelled"),
        Move("return_in_transit", "receive", "received"),
        Move("return_in_transit", "auto_refund", "refund_pending"),
        Move("received", "pass_inspection", "refund_pending", GOODS_BACK),
        Move("received", "pass_inspection_partly", "refund_pending", GOODS_BACK),
        Move("received", "fail_inspection", "rejected", GOODS_BACK),
        Move("refund_pending", "complete_refund", "refunded", GOODS_BACK),
        Move("arbitration", "uphold_buyer", "awaiting_return", variant="goods still with the buyer"),
        Move("arbitration", "uphold_buyer", "refund_pending", GOODS_BACK, variant="goods already back"),
        Move("arbitration", "uphold_buyer", "refund_pending", {"refund_only": True}, variant="refund only"),
        Move("arbitration", "uphold_rejection", "closed"),
        Move("arbitration", "cancel", "cancelled"),
        # 协商: the merchant's counter-offer (a partial refund, or another solution), answered by the buyer.
        Move("requested", "counter_offer", "counter_offered"),
        Move("received", "counter_offer", "counter_offered", GOODS_BACK),
        Move("counter_offered", "accept_offer", "awaiting_return", OFFERED, variant="goods still with the buyer"),
        Move("counter_offered", "accept_offer", "refund_pending", {**OFFERED, **GOODS_BACK}, variant="goods back"),
        Move("counter_offered", "accept_offer", "closed", variant="an offer without money"),
        Move("counter_offered", "decline_offer", "requested"),
        Move("counter_offered", "decline_offer", "received", GOODS_BACK, variant="after the inspection"),
        Move("counter_offered", "cancel", "cancelled"),
        # 平台介入: the platform takes the case over, asks for evidence and rules.
        Move("requested", "intervene", "arbitration"),
        Move("awaiting_return", "intervene", "arbitration"),
        Move("return_in_transit", "intervene", "arbitration"),
        Move("received", "intervene", "arbitration", GOODS_BACK),
        Move("counter_offered", "intervene", "arbitration"),
        Move("arbitration", "submit_evidence", "evidence_submitted", ON_TAOBAO),
        Move("evidence_submitted", "request_evidence", "arbitration", ON_TAOBAO),
        Move("evidence_submitted", "uphold_buyer", "refund_pending", {**ON_TAOBAO, **GOODS_BACK}),
        Move("evidence_submitted", "uphold_rejection", "closed", ON_TAOBAO),
        Move("evidence_submitted", "cancel", "cancelled", ON_TAOBAO),
    ),
)

pytestmark = pytest.mark.django_db


def test_the_table_covers_every_state_and_transition_of_a_return() -> None:
    check_covers_the_model(RETURN, ReturnTicket)


@pytest.mark.parametrize("move", RETURN.allowed_cases())
def test_allowed_transition(move: Move) -> None:
    check_allowed(RETURN, move)


@pytest.mark.parametrize(("state", "transition"), RETURN.forbidden_cases())
def test_forbidden_transition_is_refused_and_changes_nothing(state: str, transition: str) -> None:
    check_forbidden(RETURN, state, transition)


@pytest.mark.parametrize(("move", "role"), RETURN.role_cases())
def test_who_may_run_it(move: Move, role: str) -> None:
    check_role(RETURN, move, role)


# Every way into refund_pending fixes the amount and reserves exactly it against the lines.
RESERVING = [
    (Move("requested", "approve", "refund_pending", {"refund_only": True}), Decimal("100.00")),
    (Move("return_in_transit", "auto_refund", "refund_pending"), Decimal("100.00")),
    (Move("received", "pass_inspection", "refund_pending", GOODS_BACK), Decimal("100.00")),
    (Move("received", "pass_inspection_partly", "refund_pending", GOODS_BACK), Decimal("50.00")),
    (Move("arbitration", "uphold_buyer", "refund_pending", GOODS_BACK), Decimal("100.00")),
    (Move("counter_offered", "accept_offer", "refund_pending", {**OFFERED, **GOODS_BACK}), Decimal("60.00")),
]


@pytest.mark.parametrize(("move", "amount"), RESERVING, ids=[m.id for m, _ in RESERVING])
def test_entering_refund_pending_reserves_the_approved_amount(move: Move, amount: Decimal) -> None:
    check_allowed(RETURN, move)
    ticket = ticket_reload(ReturnTicket.objects.get())
    refund = Refund.objects.get(ticket=ticket)
    assert ticket.approved_amount == refund.amount == amount
    assert refund.status == "requested"
    assert refund.idempotency_key == f"{ticket.number}-R1"
    line = TicketLine.objects.select_related("order_line").get(ticket=ticket)
    assert line.refunded_amount == line.order_line.refunded_amount == amount


@pytest.mark.parametrize("state", RETURN.states)
def test_only_end_states_are_final(state: str) -> None:
    assert ticket_build("return", state).is_final is (RETURN.steps[state] is END)
