"""What a transition needs from its caller: a reason to refuse, a carrier and a tracking number to ship.

A missing input is refused naming the field, and nothing is written: no state change, no event, no parcel.
"""

from __future__ import annotations

import pytest

from kefu.core.errors import Conflict
from orders.models import Shipment
from tests.factories.orders import ShipmentFactory
from tests.factories.tickets import actor_for, buyer_actor, staff_actor, ticket_build, ticket_reload
from tickets.errors import FieldRequired, NotPermitted, TransitionNotAllowed
from tickets.models import TicketEvent
from tickets.services import ticket_act
from tickets.services.engine import ticket_transition

pytestmark = pytest.mark.django_db


# -- a refusal needs a reason -----------------------------------------------------------------------------

NEEDS_A_REASON = [
    ("return", "requested", "reject", "operations"),
    ("return", "received", "fail_inspection", "warehouse"),
    ("return", "arbitration", "uphold_rejection", "supervisors"),
    ("exchange", "requested", "reject", "operations"),
    ("exchange", "received", "fail_inspection", "warehouse"),
    ("exchange", "arbitration", "uphold_rejection", "supervisors"),
    ("complaint", "investigating", "dismiss", "supervisors"),
]


@pytest.mark.parametrize(("kind", "state", "transition", "role"), NEEDS_A_REASON)
@pytest.mark.parametrize("reason", ["", "   ", "\n\t"], ids=["empty", "spaces", "whitespace"])
def test_a_refusal_without_a_reason_is_refused(kind: str, state: str, transition: str, role: str, reason: str) -> None:
    ticket = ticket_build(kind, state)
    with pytest.raises(FieldRequired) as refused:
        ticket_transition(ticket=ticket, actor=staff_actor(role), transition=transition, reason=reason)
    assert (refused.value.code, refused.value.field) == ("field_required", "reason")
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version) == (state, ticket.version)
    assert not TicketEvent.objects.filter(ticket=ticket, event_type="transition").exists()


@pytest.mark.parametrize(("kind", "state", "transition", "role"), NEEDS_A_REASON)
def test_the_reason_of_a_refusal_is_on_the_timeline(kind: str, state: str, transition: str, role: str) -> None:
    ticket = ticket_build(kind, state)
    ticket_transition(ticket=ticket, actor=staff_actor(role), transition=transition, reason="照片显示人为损坏")
    assert TicketEvent.objects.get(ticket=ticket, transition=transition).reason == "照片显示人为损坏"


def test_the_dismiss_service_passes_the_reason() -> None:
    ticket = ticket_build("complaint", "escalated")
    with pytest.raises(FieldRequired):
        ticket_act(ticket=ticket, actor=staff_actor("supervisors"), action="dismiss", reason=" ")
    assert (
        ticket_act(ticket=ticket, actor=staff_actor("supervisors"), action="dismiss", reason="重复投诉").state
        == "closed"
    )


# -- a parcel needs a carrier and a tracking number ---------------------------------------------------------

SHIPPING = [
    pytest.param("return", "awaiting_return", "ship_back", "buyer", "return", "return_shipment", id="return"),
    pytest.param("exchange", "awaiting_return", "ship_back", "buyer", "return", "return_shipment", id="exchange back"),
    pytest.param(
        "exchange",
        "replacement_pending",
        "ship_replacement",
        "warehouse",
        "replacement",
        "replacement_shipment",
        id="replacement",
    ),
    pytest.param("logistics", "reshipping", "mark_reshipped", "warehouse", "outbound", "reship_shipment", id="reship"),
]


@pytest.mark.parametrize(("kind", "state", "action", "role", "direction", "link"), SHIPPING)
@pytest.mark.parametrize(
    ("carrier", "tracking_number", "field"),
    [
        ("", "YT100", "carrier"),
        ("  ", "YT100", "carrier"),
        ("YTO", "", "tracking_number"),
        ("YTO", " ", "tracking_number"),
    ],
    ids=["no carrier", "blank carrier", "no tracking", "blank tracking"],
)
def test_a_parcel_without_carrier_or_tracking_number_is_refused(
    kind: str,
    state: str,
    action: str,
    role: str,
    direction: str,
    link: str,
    carrier: str,
    tracking_number: str,
    field: str,
) -> None:
    ticket = ticket_build(kind, state)
    with pytest.raises(FieldRequired) as refused:
        ticket_act(
            ticket=ticket,
            actor=actor_for(role, ticket),
            action=action,
            carrier=carrier,
            tracking_number=tracking_number,
        )
    assert (refused.value.code, refused.value.field) == ("field_required", field)
    assert not Shipment.objects.exists()
    stored = ticket_reload(ticket)
    assert (stored.state, stored.version, getattr(stored, f"{link}_id")) == (state, ticket.version, None)


@pytest.mark.parametrize(("kind", "state", "action", "role", "direction", "link"), SHIPPING)
def test_a_parcel_is_recorded_with_the_transition(
    kind: str, state: str, action: str, role: str, direction: str, link: str
) -> None:
    ticket = ticket_build(kind, state)
    ticket_act(
        ticket=ticket, actor=actor_for(role, ticket), action=action, carrier=" YTO ", tracking_number=" YT1234567890 "
    )

    shipment = Shipment.objects.get()
    assert (shipment.order_id, shipment.direction, shipment.carrier, shipment.tracking_number) == (
        ticket.order_id,
        direction,
        "YTO",
        "YT1234567890",
    )
    assert getattr(ticket_reload(ticket), f"{link}_id") == shipment.pk
    event = TicketEvent.objects.get(ticket=ticket, event_type="transition")
    assert (event.payload["carrier"], event.payload["tracking_number"]) == ("YTO", "YT1234567890")


@pytest.mark.parametrize(
    ("state", "who", "error"),
    [("requested", "buyer", TransitionNotAllowed), ("awaiting_return", "other_buyer", NotPermitted)],
    ids=["wrong state", "someone else's ticket"],
)
def test_no_parcel_is_recorded_when_the_transition_is_refused(state: str, who: str, error: type[Exception]) -> None:
    ticket = ticket_build("return", state)
    with pytest.raises(error):
        ticket_act(
            ticket=ticket, actor=actor_for(who, ticket), action="ship_back", carrier="YTO", tracking_number="YT1"
        )
    assert not Shipment.objects.exists()
    assert ticket_reload(ticket).state == state


def test_a_tracking_number_of_another_order_is_refused_and_nothing_changes() -> None:
    ShipmentFactory(carrier="YTO", tracking_number="YT1")
    ticket = ticket_build("return", "awaiting_return")
    with pytest.raises(Conflict) as refused:
        ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="ship_back", carrier="YTO", tracking_number="YT1")
    assert (refused.value.code, refused.value.field) == ("tracking_number_in_use", "tracking_number")
    stored = ticket_reload(ticket)
    assert (stored.state, stored.return_shipment_id) == ("awaiting_return", None)
