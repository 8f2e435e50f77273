"""The values the engine's property test (test_properties.py) draws from: kinds, actions, actors, parameters, and
a fingerprint of what a refused action must leave unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import strategies as st

from orders.models import OrderLine, Shipment
from tickets.models import (
    ComplaintTicket,
    ExchangeTicket,
    LogisticsTicket,
    Refund,
    ReturnTicket,
    Ticket,
    TicketEvent,
    TicketLine,
)

V = TypeVar("V")

MODELS: dict[str, type[Ticket]] = {
    "return": ReturnTicket,
    "exchange": ExchangeTicket,
    "complaint": ComplaintTicket,
    "logistics": LogisticsTicket,
}
# Every transition name of every kind: a name of another kind, or one the state does not offer, must be refused.
ALL_TRANSITIONS = sorted(
    {t.name for model in MODELS.values() for t in model._meta.get_field("state").get_all_transitions(model)}
)
# The actors; a transition's ``permission=by(...)`` roles are these names too (a supervisor is "supervisors").
ACTORS = [
    "buyer",
    "operations",
    "warehouse",
    "logistics",
    "supervisors",
    "system",
    "integration",
    "platform",  # a marketplace (connectors): Role.PLATFORM on the transitions it may run
    "other_buyer",
]
FEN = Decimal("0.01")

# Each parameter: (plausible values, values that are empty or wrong). A step draws from the plausible ones
# mostly, so tickets get deep into their state machines, and from both otherwise.
REASON_CODES = {
    "return": ["seven_days_no_reason", "quality_problem", "not_received", "damaged"],
    "exchange": ["wrong_size_colour", "quality_problem", "seven_days_no_reason"],
}
BAD_REASON_CODES = ["", "not_a_reason", "out_of_stock_typo"]
REASONS = (["商品有划痕", "buyer did not answer", "x" * 300], ["", "   "])
CARRIERS = (["SF", "YTO"], ["", "  "])
# Few tracking numbers: two parcels (of one order or of two, in one direction or another) often collide.
TRACKING_NUMBERS = (["SF0000000001", "SF0000000002", "YT0000000001"], ["", " "])
DESCRIPTIONS = ([None, "改成 L 码", "please refund"], [""])
REPLACEMENT_SKUS = ([None, "SKU-ALT-XL"], ["", "  "])
RESOLUTIONS = (["补发一件并赠送优惠券"], ["", " "])
CLAIM_NUMBERS = (["CLM-1", ""], [])
CATEGORIES = (["product_quality", "service_attitude", "delivery", "other"], ["rudeness", ""])
SEVERITIES = ([1, 2, 3, 4], [0, 5])
COMPLAINT_TEXTS = (["客服态度差", "发错货了"], ["", " "])
EXCEPTION_TYPES = (["lost", "delayed", "damaged", "stalled", "wrong_address", "refused"], ["eaten", ""])
COMMENTS = (["已经寄回了", "internal: check the warehouse camera"], ["", "  ", "x" * 5001])


def amounts(anchor: Decimal | None) -> tuple[list[Decimal | None], list[Decimal | None]]:
    """Plausible amounts below or at ``anchor``; and the boundaries around it, zero, negative and sub-fen."""
    good: list[Decimal | None] = [FEN]
    bad: list[Decimal | None] = [None, Decimal("0"), Decimal("-1.00"), Decimal("0.005"), Decimal("12.345")]
    if anchor is not None and anchor > 0:
        good += [anchor, max(FEN, anchor - FEN), (anchor / 2).quantize(FEN)]
        bad += [anchor + FEN]
    return good, bad


def draw(data: st.DataObject, values: tuple[Sequence[V], Sequence[V]], plausible: bool, label: str) -> V:
    good, bad = values
    return data.draw(st.sampled_from(list(good) if plausible or not bad else [*good, *bad]), label=label)


def world_fingerprint() -> tuple[Any, ...]:
    """Everything a refused action must leave as it was."""
    return (
        tuple(Ticket.objects.order_by("pk").values_list("pk", "state", "version", "department", "assignee_id")),
        TicketEvent.objects.count(),
        tuple(Refund.objects.order_by("pk").values_list("pk", "amount", "status")),
        tuple(OrderLine.objects.order_by("pk").values_list("pk", "refunded_amount")),
        tuple(TicketLine.objects.order_by("pk").values_list("pk", "refunded_amount")),
        Shipment.objects.count(),
    )
