"""物流异常: the logistics exception state machine (SPEC "logistics").

``refund`` hands the money to a linked refund-only return (``origin`` = this ticket), opened by the service;
when that return is refunded the service resolves this ticket, so money and timeline stay in one place.
A marketplace's 补寄 (resend) case is a ``missing_item`` exception: ``Role.PLATFORM`` marks what the platform
reports of it (the resend shipped in its back office, the buyer's receipt, the buyer withdrawing).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE

from kefu.core.vocabulary import LogisticsState as S
from orders.models import MONEY, Shipment, ShipmentDirection
from tickets.actors import Role
from tickets.errors import InvalidAmount
from tickets.models.base import Kind, Ticket
from tickets.workflows.acts import (
    AMOUNT,
    CLAIM_NUMBER,
    REASON,
    SHIPPING,
    Act,
    CompensationLimits,
    LinkedRefund,
    Ship,
    transition,
)
from tickets.workflows.steps import BUYER, END, ESCALATE, Step, by, by_second_person, days, hours

FIELD = "state"


class ExceptionType(models.TextChoices):
    LOST = "lost", _("Lost")
    DELAYED = "delayed", _("Delayed")
    DAMAGED = "damaged", _("Damaged")
    STALLED = "stalled", _("Stalled (no tracking update)")
    WRONG_ADDRESS = "wrong_address", _("Wrong address")
    REFUSED = "refused", _("Refused by the buyer")
    # 补寄: an item missing from the parcel, sent again (a marketplace's resend case; reshipping path).
    MISSING_ITEM = "missing_item", _("Missing item (resend)")


class Outcome(models.TextChoices):
    RESHIPPED = "reshipped", _("Reshipped")
    COMPENSATED = "compensated", _("Compensated")
    REFUNDED = "refunded", _("Refunded")
    FOUND = "found", _("Found")


class LogisticsTicket(Ticket):
    KIND = Kind.LOGISTICS
    NUMBER_PREFIX = "LG"
    INITIAL_STATE = S.REPORTED
    FINAL_STATES = frozenset({S.CLOSED, S.CANCELLED})
    STEPS = {
        S.REPORTED: Step("logistics", hours(24), ESCALATE),
        S.INVESTIGATING: Step("logistics", hours(72), ESCALATE),
        S.RESHIPPING: Step("warehouse", hours(24), ESCALATE),
        S.RESHIPPED: Step("logistics", days(7), ESCALATE),
        S.COMPENSATION_REVIEW: Step("supervisors", hours(24), ESCALATE),
        S.COMPENSATING: Step("operations", hours(48), ESCALATE),
        S.REFUNDING: Step("operations", hours(48), ESCALATE),
        S.FOUND: Step("logistics", hours(24), ESCALATE),
        S.RESOLVED: Step(BUYER, hours(72), "expire"),
        S.CLOSED: END,
        S.CANCELLED: END,
    }

    exception_type = models.CharField(_("exception"), max_length=16, choices=ExceptionType.choices)
    shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("shipment")
    )
    carrier_claim_number = models.CharField(_("carrier claim number"), max_length=64, blank=True)
    compensation_amount = models.DecimalField(_("compensation"), null=True, blank=True, **MONEY)
    # Maker-checker: who proposed a compensation above the approval threshold; someone else must approve it.
    compensation_proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("compensation proposed by"),
    )
    reship_shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("reshipment")
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, blank=True)

    class Meta:
        verbose_name = _("logistics exception")
        verbose_name_plural = _("logistics exceptions")
        constraints = [
            # A stalled parcel gets one system-opened ticket (issue 3's sweep relies on it).
            models.UniqueConstraint(
                fields=["shipment"],
                condition=models.Q(exception_type="stalled"),
                name="logistics_one_stalled_ticket_per_shipment",
            ),
        ]

    @transition(
        field=FIELD,
        source=S.REPORTED,
        target=S.INVESTIGATING,
        permission=by(Role.LOGISTICS),
        custom=Act(
            _("Investigate (open a carrier claim)"),
            needs=(CLAIM_NUMBER,),
            bulk=_("Start investigating selected complaints and logistics cases"),
        ),
    )
    def investigate(self, *, carrier_claim_number: str = "") -> None:
        self.carrier_claim_number = (carrier_claim_number or "").strip()

    @transition(
        field=FIELD,
        source=S.INVESTIGATING,
        target=S.RESHIPPING,
        permission=by(Role.LOGISTICS),
        custom=Act(_("Reship"), needs=(REASON.optional(),)),
    )
    def reship(self) -> None:
        self.outcome = Outcome.RESHIPPED

    @transition(
        field=FIELD,
        source=S.RESHIPPING,
        target=S.RESHIPPED,
        permission=by(Role.WAREHOUSE, Role.PLATFORM),
        custom=Act(_("Mark reshipped"), needs=SHIPPING, prepare=Ship(ShipmentDirection.OUTBOUND)),
    )
    def mark_reshipped(self, *, shipment: Shipment) -> None:
        self.reship_shipment = shipment

    # Compensation, maker-checker: ``compensate`` checks the amount against the order and the shop's cap
    # (CompensationLimits, tickets.services.acting); above the approval threshold it waits in compensation_review
    # until a supervisor other than its maker approves (approve_compensation) or rejects it (reject_compensation).
    @transition(
        field=FIELD,
        source=S.INVESTIGATING,
        target=GET_STATE(
            lambda self, needs_approval=False, **_: S.COMPENSATION_REVIEW if needs_approval else S.COMPENSATING,
            states=[S.COMPENSATING, S.COMPENSATION_REVIEW],
        ),
        permission=by(Role.LOGISTICS, Role.OPERATIONS),
        custom=Act(_("Compensate"), needs=(AMOUNT, REASON.optional()), prepare=CompensationLimits("amount")),
    )
    def compensate(self, *, amount: Decimal, needs_approval: bool = False, proposed_by: Any = None) -> None:
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise InvalidAmount(gettext("The compensation must be above ¥0.00, in fen."), field="amount")
        self.compensation_amount = amount
        self.outcome = Outcome.COMPENSATED
        self.compensation_proposed_by = proposed_by if needs_approval else None

    @transition(
        field=FIELD,
        source=S.COMPENSATION_REVIEW,
        target=S.COMPENSATING,
        permission=by_second_person(Role.SUPERVISORS, maker_field="compensation_proposed_by_id"),
        custom=Act(_("Approve the compensation"), needs=(REASON.optional(),)),
    )
    def approve_compensation(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.COMPENSATION_REVIEW,
        target=S.INVESTIGATING,
        permission=by(Role.SUPERVISORS),
        custom=Act(_("Reject the compensation"), needs=(REASON,)),
    )
    def reject_compensation(self) -> None:
        self.compensation_amount = None
        self.outcome = ""
        self.compensation_proposed_by = None

    @transition(
        field=FIELD,
        source=S.INVESTIGATING,
        target=S.REFUNDING,
        permission=by(Role.LOGISTICS, Role.OPERATIONS),
        custom=Act(
            _("Refund the buyer"),
            needs=(REASON.optional(),),
            after=LinkedRefund("not_received", approved_by="logistics refund"),
        ),
    )
    def refund(self) -> None:
        self.outcome = Outcome.REFUNDED

    @transition(
        field=FIELD,
        source=S.INVESTIGATING,
        target=S.FOUND,
        permission=by(Role.LOGISTICS),
        custom=Act(_("Parcel found (delivered after all)"), needs=(REASON.optional(),)),
    )
    def mark_found(self) -> None:
        self.outcome = Outcome.FOUND

    @transition(
        field=FIELD,
        source=[S.RESHIPPED, S.COMPENSATING, S.REFUNDING, S.FOUND],
        target=S.RESOLVED,
        permission=by(Role.LOGISTICS, Role.OPERATIONS, Role.SYSTEM, Role.PLATFORM),
        custom=Act(_("Resolve"), needs=(REASON.optional(),), bulk=_("Resolve selected logistics cases")),
    )
    def resolve(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.RESOLVED,
        target=S.CLOSED,
        permission=by(Role.BUYER, Role.PLATFORM),
        custom=Act(_("Confirm the resolution")),
    )
    def confirm(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.RESOLVED,
        target=S.CLOSED,
        permission=by(Role.SYSTEM),
        custom=Act(_("Close (buyer did not answer in time)"), needs=(REASON.optional(),), system_only=True),
    )
    def expire(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.REPORTED,
        target=S.CANCELLED,
        permission=by(Role.BUYER, Role.PLATFORM),
        custom=Act(_("Withdraw"), needs=(REASON.optional(),)),
    )
    def cancel(self) -> None:
        pass
