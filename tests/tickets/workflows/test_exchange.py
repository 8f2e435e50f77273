"""换货: every allowed and every forbidden transition of an exchange, and who may run each.

The expected table is written out here from SPEC "exchange" and the return's deadlines it shares;
tests/tickets/workflows/matrix.py runs it through the engine. Out of stock (``convert_to_refund``) is
checked here as a transition; the linked refund it opens is tests/tickets/services/test_refunds.py.
"""

from __future__ import annotations

import pytest

from tests.factories.tickets import ticket_build
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
from tickets.models import ExchangeTicket
from tickets.workflows.steps import days, hours

GOODS_BACK = {"goods_received": True}

EXCHANGE = Table(
    kind="exchange",
    steps={
        "requested": merchant("operations", hours(48)),
        "rejected": buyer(days(7)),
        "awaiting_return": buyer(days(7)),
        "return_in_transit": merchant("warehouse", days(10)),
        "received": merchant("warehouse", hours(24)),
        "replacement_pending": merchant("warehouse", hours(48)),
        "replacement_shipped": buyer(days(10)),
        "arbitration": merchant("supervisors", hours(48)),
        "completed": END,
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
        "receive": ("warehouse", "integration", "platform"),
        "pass_inspection": ("warehouse",),
        "fail_inspection": ("warehouse",),
        "ship_replacement": ("warehouse", "platform"),
        "convert_to_refund": ("warehouse", "operations"),
        "confirm_receipt": ("buyer", "platform"),
        "auto_complete": ("system",),
        "uphold_buyer": ("supervisors", "platform"),
        "uphold_rejection": ("supervisors", "platform"),
        "cancel": ("buyer", "platform"),
    },
    moves=(
        Move("requested", "approve", "awaiting_return"),
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
        Move("received", "pass_inspection", "replacement_pending", GOODS_BACK),
        Move("received", "fail_inspection", "rejected", GOODS_BACK),
        Move("replacement_pending", "ship_replacement", "replacement_shipped", GOODS_BACK),
        Move("replacement_pending", "convert_to_refund", "closed", GOODS_BACK),
        Move("replacement_shipped", "confirm_receipt", "completed", GOODS_BACK),
        Move("replacement_shipped", "auto_complete", "completed", GOODS_BACK),
        Move("arbitration", "uphold_buyer", "awaiting_return", variant="goods still with the buyer"),
        Move("arbitration", "uphold_buyer", "replacement_pending", GOODS_BACK, variant="goods already back"),
        Move("arbitration", "uphold_rejection", "closed"),
        Move("arbitration", "cancel", "cancelled"),
    ),
)

pytestmark = pytest.mark.django_db


def test_the_table_covers_every_state_and_transition_of_an_exchange() -> None:
    check_covers_the_model(EXCHANGE, ExchangeTicket)


@pytest.mark.parametrize("move", EXCHANGE.allowed_cases())
def test_allowed_transition(move: Move) -> None:
    check_allowed(EXCHANGE, move)


@pytest.mark.parametrize(("state", "transition"), EXCHANGE.forbidden_cases())
def test_forbidden_transition_is_refused_and_changes_nothing(state: str, transition: str) -> None:
    check_forbidden(EXCHANGE, state, transition)


@pytest.mark.parametrize(("move", "role"), EXCHANGE.role_cases())
def test_who_may_run_it(move: Move, role: str) -> None:
    check_role(EXCHANGE, move, role)


@pytest.mark.parametrize("state", EXCHANGE.states)
def test_only_end_states_are_final(state: str) -> None:
    assert ticket_build("exchange", state).is_final is (EXCHANGE.steps[state] is END)
