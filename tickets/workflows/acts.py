"""How a transition is declared once: ``@transition(..., permission=by(...), custom=Act(...))``.

The django-fsm decorator states where a transition goes from and to, who may run it (``permission=``) and its
guard (``conditions=`` and the method body, which only checks and changes the ticket in memory). ``Act`` says
the rest, and everything else is derived from it (``tickets.actions`` builds the catalogue):

- ``label``: the button, the API's ``actions`` list, the timeline and the docs' tables show it;
- ``needs``: the inputs, each a :class:`Need` (type, required or optional, length, translated label and help):
  ``tickets.services.acting.ticket_act`` validates them, the API builds its input serializer from them, the
  admin its form, ``graph_transitions`` the "needs" column;
- ``system_only``: run by the system only (deadline sweep, payment task); never offered by the API or the admin;
- ``bulk``: the description of the admin list's bulk action for this transition (one per transition name, the
  same text for each kind that offers it; only transitions that need no input may be run in bulk);
- ``prepare`` / ``after``: the effects around the transition, declared as data (:class:`Ship`,
  :class:`RefundCap`, :class:`LinkedRefund`) and carried out by ``tickets.services.acting`` inside the
  transition's transaction: ``prepare`` after the state and actor were checked, before the transition (its
  results are the method's parameters), ``after`` once the transition and its event are written;
- ``note``: the input written as the timeline entry's reason (``reason`` unless said otherwise).

Notifications are not declared per transition: ``notifications.services.notification_event_for`` chooses them
by what the transition leads to (a state nobody acts in is "closed", any other "state changed"; a hand-off to
another department also tells that department), so every transition notifies the same way.

Inputs named like a parameter of the transition method are passed to it; the others (``reason``, a parcel's
carrier and tracking number) are for the effects and the timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from django.utils.translation import gettext_lazy as _
from django_fsm import State
from django_fsm import transition as fsm_transition

from orders.models import ShipmentDirection
from tickets.workflows.steps import Permission, Rule


class NeedType(StrEnum):
    TEXT = "text"  # one line
    LONG_TEXT = "long_text"  # several lines (a reason, a resolution)
    MONEY = "money"  # yuan, two decimals, above zero


@dataclass(frozen=True)
class Need:
    """One input of a transition.

    An optional input left out is ``""`` for text, or ``None`` with ``keep`` ("leave the field as it is": a
    modified request changes only what the buyer sends). ``record`` writes the value into the timeline
    entry's payload.
    """

    name: str
    type: NeedType
    label: Any  # a lazy translation
    required: bool = True
    max_length: int | None = None
    help: Any = ""
    keep: bool = False
    record: bool = False

    def optional(self) -> Need:
        return replace(self, required=False)

    @property
    def min_value(self) -> Decimal | None:
        return Decimal("0.01") if self.type == NeedType.MONEY else None

    @property
    def default(self) -> str | None:
        """What an optional input left out means."""
        return None if self.keep or self.type == NeedType.MONEY else ""


REASON = Need("reason", NeedType.LONG_TEXT, _("Reason"), max_length=2000)
CARRIER = Need("carrier", NeedType.TEXT, _("Carrier"), max_length=64)
TRACKING_NUMBER = Need("tracking_number", NeedType.TEXT, _("Tracking number"), max_length=64)
AMOUNT = Need("amount", NeedType.MONEY, _("Amount (¥)"), record=True)
# 协商: what the merchant offers instead of the request (a partial refund, or another solution in words).
OFFER = Need("offer", NeedType.LONG_TEXT, _("Offer to the buyer"), max_length=2000, record=True)
OFFER_AMOUNT = Need(
    "offer_amount",
    NeedType.MONEY,
    _("Offered refund (¥)"),
    required=False,
    record=True,
    help=_("Leave empty when the offer is not money (e.g. a missing part sent again)."),
)
# 平台介入: the merchant's statement sent to the platform with the ticket's evidence attachments.
STATEMENT = Need("statement", NeedType.LONG_TEXT, _("Statement for the platform"), max_length=400, record=True)
RESOLUTION = Need("resolution", NeedType.LONG_TEXT, _("Resolution offered to the buyer"), max_length=5000)
CLAIM_NUMBER = Need(
    "carrier_claim_number", NeedType.TEXT, _("Carrier claim number"), required=False, max_length=64, record=True
)
REQUESTED_AMOUNT = Need("requested_amount", NeedType.MONEY, _("Requested amount (¥)"), required=False, keep=True)
REPLACEMENT_SKU = Need("replacement_sku", NeedType.TEXT, _("Replacement SKU"), required=False, max_length=64, keep=True)
DESCRIPTION = Need("description", NeedType.LONG_TEXT, _("Description"), required=False, max_length=5000, keep=True)
# The payment task's proof of a paid refund, on the timeline.
REFUND_KEY = Need("refund", NeedType.TEXT, _("Refund"), max_length=64, record=True)
GATEWAY_REFERENCE = Need("reference", NeedType.TEXT, _("Gateway reference"), max_length=128, record=True)

SHIPPING = (CARRIER, TRACKING_NUMBER)


# -- effects: declared here, carried out by tickets.services.acting ----------------------------------------


@dataclass(frozen=True)
class Ship:
    """Prepare: create the parcel (the order's shipment in ``direction``) from the carrier and tracking number;
    the transition method receives it as ``shipment``, the timeline records both inputs."""

    direction: ShipmentDirection


@dataclass(frozen=True)
class RefundCap:
    """Prepare: refuse an amount above what can still be refunded for the ticket's lines (``field`` names it)."""

    field: str


@dataclass(frozen=True)
class CompensationLimits:
    """Prepare: refuse a compensation (``field`` names the amount) above what the order still has paid (its lines'
    paid amount less refunds and the other compensations granted on it) or above the shop's ``compensation_cap``;
    pass ``needs_approval`` (above the shop's or the site's approval threshold) and ``proposed_by`` (the actor's
    user) to the transition, which then waits for a second supervisor (maker-checker)."""

    field: str


@dataclass(frozen=True)
class LinkedRefund:
    """After: open a refund-only return for the ticket's lines (``origin`` = this ticket), approved by the system
    at once so the refund is reserved in the same transaction."""

    reason_code: str
    approved_by: str  # the system actor's name on the refund's timeline


Effect = Ship | RefundCap | CompensationLimits | LinkedRefund


@dataclass(frozen=True)
class Act:
    """What a transition is for people and callers; see the module docstring."""

    label: Any
    needs: tuple[Need, ...] = ()
    system_only: bool = False
    bulk: Any = None
    prepare: Effect | None = None
    after: Effect | None = None
    note: str = "reason"
    needs_by_name: dict[str, Need] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs_by_name", {need.name: need for need in self.needs})


Method = TypeVar("Method", bound=Callable[..., Any])


def transition(
    *,
    field: str,
    source: str | Sequence[str],
    target: str | State,
    permission: Permission,
    custom: Act,
    conditions: list[Rule[Any]] | None = None,
) -> Callable[[Method], Method]:
    """django-fsm's ``@transition``, typed for kefu's declarations: ``permission=by(...)``, ``custom=Act(...)``.

    django-fsm stores ``permission``, ``conditions`` and ``custom`` as given and calls the first two with the
    ticket (and the actor kefu passes as "user"); its annotations name a plain model, a Django user and a
    dict, so the three are handed over unchecked here, once, instead of at every declaration. The decorated
    method keeps its own signature for the type checker.
    """
    decorate: Callable[[Method], Method] = fsm_transition(
        field=field,
        source=source,
        target=target,
        conditions=conditions,  # type: ignore[arg-type]  # a Rule takes the ticket, fsm annotates Model
        permission=permission,  # type: ignore[arg-type]  # takes (ticket, Actor), fsm annotates a Django user
        custom=custom,  # type: ignore[arg-type]  # fsm annotates dict; it keeps the object, catalogue reads Act
    )
    return decorate
