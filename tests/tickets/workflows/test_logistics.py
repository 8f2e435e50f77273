"""物流异常: every allowed and every forbidden transition of a logistics exception, and who may run each.

The expected table is written out here from SPEC "logistics" (reported → investigating → reshipping /
compensating / refunding / found → resolved, 72 h for the buyer to confirm); tests/tickets/workflows/matrix.py
runs it through the engine. The linked refund of ``refund`` is tests/tickets/services/test_refunds.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories.tickets import staff_actor, ticket_build, ticket_reload
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
from tickets.errors import InvalidAmount
from tickets.models import LogisticsTicket, TicketEvent
from tickets.services import ticket_act
from tickets.workflows.steps import days, hours

LOGISTICS = Table(
    kind="logistics",
    steps={
        "reported": merchant("logistics", hours(24)),
        "investigating": merchant("logistics", hours(72)),
        "reshipping": merchant("warehouse", hours(24)),
        "reshipped": merchant("logistics", days(7)),
        "compensation_review": merchant("supervisors", hours(24)),
        "compensating": merchant("operations", hours(48)),
        "refunding": merchant("operations", hours(48)),
        "found": merchant("logistics", hours(24)),
        "resolved": buyer(hours(72)),
        "closed": END,
        "cancelled": END,
    },
    roles={
        "investigate": ("logistics",),
        "reship": ("logistics",),
        "mark_reshipped": ("warehouse", "platform"),
        "compensate": ("logistics", "operations"),
        "approve_compensation": ("supervisors",),
        "reject_compensation": ("supervisors",),
        "refund": ("logistics", "operations"),
        "mark_found": ("logistics",),
        "resolve": ("logistics", "operations", "system", "platform"),
        "confirm": ("buyer", "platform"),
        "expire": ("system",),
        "cancel": ("buyer", "platform"),
    },
    moves=(
        Move("reported", "investigate", "investigating"),
        Move("reported", "cancel", "cancelled"),
        Move("investigating", "reship", "reshipping"),
        Move("investigating", "compensate", "compensating"),
        Move("compensation_review", "approve_compensation", "compensating"),
        Move("compensation_review", "reject_compensation", "investigating"),
        Move("investigating", "refund", "refunding"),
        Move("investigating", "mark_found", "found"),
        Move("reshipping", "mark_reshipped", "reshipped"),
        Move("reshipped", "resolve", "resolved"),
        Move("compensating", "resolve", "resolved"),
        Move("refunding", "resolve", "resolved"),
        Move("found", "resolve", "resolved"),
        Move("resolved", "confirm", "closed"),
        Move("resolved", "expire", "closed"),
    ),
)

pytestmark = pytest.mark.django_db


def test_the_table_covers_every_state_and_transition_of_a_logistics_exception() -> None:
    check_covers_the_model(LOGISTICS, LogisticsTicket)


@pytest.mark.parametrize("move", LOGISTICS.allowed_cases())
def test_allowed_transition(move: Move) -> None:
    check_allowed(LOGISTICS, move)


@pytest.mark.parametrize(("state", "transition"), LOGISTICS.forbidden_cases())
def test_forbidden_transition_is_refused_and_changes_nothing(state: str, transition: str) -> None:
    check_forbidden(LOGISTICS, state, transition)


@pytest.mark.parametrize(("move", "role"), LOGISTICS.role_cases())
def test_who_may_run_it(move: Move, role: str) -> None:
    check_role(LOGISTICS, move, role)


@pytest.mark.parametrize("state", LOGISTICS.states)
def test_only_end_states_are_final(state: str) -> None:
    assert ticket_build("logistics", state).is_final is (LOGISTICS.steps[state] is END)


@pytest.mark.parametrize(
    ("move", "outcome"),
    [
        (Move("investigating", "reship", "reshipping"), "reshipped"),
        (Move("investigating", "compensate", "compensating"), "compensated"),
        (Move("investigating", "refund", "refunding"), "refunded"),
        (Move("investigating", "mark_found", "found"), "found"),
    ],
    ids=["reship", "compensate", "refund", "found"],
)
def test_each_way_out_of_the_investigation_records_its_outcome(move: Move, outcome: str) -> None:
    check_allowed(LOGISTICS, move)
    assert LogisticsTicket.objects.get().outcome == outcome


def test_the_investigation_keeps_the_carrier_claim_number() -> None:
    ticket = ticket_build("logistics", "reported")
    ticket_act(
        ticket=ticket, actor=staff_actor("logistics"), action="investigate", carrier_claim_number="  SF-CLAIM-77  "
    )
    assert ticket_reload(ticket).carrier_claim_number == "SF-CLAIM-77"
    assert TicketEvent.objects.get(ticket=ticket, transition="investigate").payload["carrier_claim_number"]


@pytest.mark.parametrize("amount", [Decimal("0.00"), Decimal("-1.00"), Decimal("10.005"), None])
def test_a_compensation_must_be_above_zero_and_in_fen(amount: Decimal | None) -> None:
    ticket = ticket_build("logistics", "investigating")
    with pytest.raises(InvalidAmount) as refused:
        ticket_act(ticket=ticket, actor=staff_actor("logistics"), action="compensate", amount=amount)  # type: ignore[arg-type]
    assert refused.value.field == "amount"
    stored = ticket_reload(ticket)
    assert (stored.state, stored.compensation_amount, stored.version) == ("investigating", None, ticket.version)


def test_a_compensation_is_stored_with_its_amount() -> None:
    ticket = ticket_build("logistics", "investigating")
    ticket_act(
        ticket=ticket, actor=staff_actor("operations"), action="compensate", amount=Decimal("25.50"), reason="丢件赔付"
    )
    stored = ticket_reload(ticket)
    assert (stored.state, stored.compensation_amount) == ("compensating", Decimal("25.50"))
