"""退货退款 / 仅退款: the return state machine (SPEC "return").

A return either needs the goods back (``refund_only=False``) or not. Transitions only check and change
fields in memory; ``tickets.services`` locks, saves, reserves the refund and writes the timeline.
Entering ``refund_pending`` always fixes ``approved_amount``; the service reserves exactly that amount.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE

from kefu.core.vocabulary import ReturnState as S
from orders.models import MONEY, Shipment, ShipmentDirection
from tickets.actors import Role
from tickets.errors import InvalidAmount, require
from tickets.models.base import Kind, Ticket
from tickets.models.finance import ReturnPostage
from tickets.workflows.acts import (
    AMOUNT,
    DESCRIPTION,
    GATEWAY_REFERENCE,
    OFFER,
    OFFER_AMOUNT,
    REASON,
    REFUND_KEY,
    REQUESTED_AMOUNT,
    SHIPPING,
    STATEMENT,
    Act,
    RefundCap,
    Ship,
    transition,
)
from tickets.workflows.steps import BUYER, END, ESCALATE, Rule, Step, by, days, hours

FIELD = "state"
FEN = Decimal("0.01")
# Evidence goes to a marketplace: a shop's own ticket is arbitrated by the supervisors alone.
ON_A_MARKETPLACE: Rule[Ticket] = Rule(
    lambda ticket: bool(ticket.platform),
    lambda ticket: (
        gettext("Ticket %(number)s is not a marketplace case: there is no platform to send evidence to.")
        % {"number": ticket.number}
    ),
)


class ReturnTicket(Ticket, ReturnPostage):  # ReturnPostage: the return postage's fields
    KIND = Kind.RETURN
    NUMBER_PREFIX = "RT"
    INITIAL_STATE = S.REQUESTED
    FINAL_STATES = frozenset({S.REFUNDED, S.CLOSED, S.CANCELLED})
    STEPS = {
        S.REQUESTED: Step("operations", hours(48), "approve"),
        S.REJECTED: Step(BUYER, days(7), "expire"),
        S.AWAITING_RETURN: Step(BUYER, days(7), "expire"),
        S.RETURN_IN_TRANSIT: Step("warehouse", days(10), "auto_refund"),
        S.RECEIVED: Step("warehouse", hours(24), ESCALATE),
        S.REFUND_PENDING: Step("operations", hours(24), ESCALATE),
        # 协商: the buyer answers the merchant's counter-offer; silence hands the request back to the staff.
        S.COUNTER_OFFERED: Step(BUYER, hours(72), "decline_offer"),
        S.ARBITRATION: Step("supervisors", hours(48), ESCALATE),
        # 平台介入: the platform rules; a supervisor looks again when it takes longer than a week.
        S.EVIDENCE_SUBMITTED: Step("supervisors", days(7), ESCALATE),
        S.REFUNDED: END,
        S.CLOSED: END,
        S.CANCELLED: END,
    }

    refund_only = models.BooleanField(
        _("refund only"), default=False, help_text=_("仅退款: no goods come back (never shipped, not received, …).")
    )
    requested_amount = models.DecimalField(_("requested amount"), **MONEY)
    approved_amount = models.DecimalField(_("approved refund amount"), null=True, blank=True, **MONEY)
    return_shipment = models.ForeignKey(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("return shipment"),
        db_index=False,  # return_shipment_idx: only the returns on their way back (an opening writes none)
    )
    goods_received = models.BooleanField(_("goods received back"), default=False)
    offered_amount = models.DecimalField(_("offered refund"), null=True, blank=True, **MONEY)
    offer = models.TextField(_("offer to the buyer"), blank=True, db_default="")  # raw inserts (benchmarks) omit it

    class Meta:
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        indexes = [
            models.Index(
                fields=["return_shipment"], name="return_shipment_idx", condition=Q(return_shipment__isnull=False)
            )
        ]

    def _after_approval(self) -> str:
        """Where an approval leads: straight to the refund when no goods (still) need to come back."""
        if self.refund_only or self.goods_received:
            self.approved_amount = self.requested_amount
            return S.REFUND_PENDING
        return S.AWAITING_RETURN

    def _before_offer(self) -> str:
        """Where a counter-offer came from: the request, or the inspection once the goods are back."""
        return S.RECEIVED if self.goods_received else S.REQUESTED

    # -- merchant review -------------------------------------------------------------------------------
    # approve / uphold_buyer share _after_approval: both must lead to the same place for the same ticket.
    @transition(
        field=FIELD,
        source=S.REQUESTED,
        target=GET_STATE(lambda self, **_: self._after_approval(), states=[S.AWAITING_RETURN, S.REFUND_PENDING]),
        # PLATFORM: the marketplace agreed (its timeout, or the merchant in the platform's own back office).
        permission=by(Role.OPERATIONS, Role.SYSTEM, Role.PLATFORM),
        custom=Act(
            _("Approve"),
            needs=(REASON.optional(),),
            bulk=_("Approve selected requests (returns, refund-only, exchanges)"),
        ),
    )
    def approve(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.REQUESTED,
        target=S.REJECTED,
        permission=by(Role.OPERATIONS, Role.PLATFORM),
        custom=Act(_("Reject"), needs=(REASON,)),
    )
    def reject(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for the rejection"))

    # -- the buyer's answers to a rejection ------------------------------------------------------------
    @transition(
        field=FIELD,
        source=S.REJECTED,
        target=S.REQUESTED,
        permission=by(Role.BUYER),
        custom=Act(_("Modify request"), needs=(REQUESTED_AMOUNT, DESCRIPTION), prepare=RefundCap("requested_amount")),
    )
    def modify(self, *, requested_amount: Decimal | None = None, description: str | None = None) -> None:
        if requested_amount is not None:
            # In fen, as when opening: the database would round a third decimal (differently per backend).
            if requested_amount <= 0 or requested_amount != requested_amount.quantize(FEN):
                raise InvalidAmount(
                    gettext("The requested amount must be above ¥0.00, in fen."), field="requested_amount"
                )
            self.requested_amount = requested_amount
        if description is not None:
            self.description = description

    @transition(
        field=FIELD,
        source=S.REJECTED,
        target=S.ARBITRATION,
        permission=by(Role.BUYER, Role.PLATFORM),  # PLATFORM: the buyer asked the marketplace to intervene
        custom=Act(_("Escalate to arbitration"), needs=(REASON.optional(),)),
    )
    def escalate(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.REJECTED,
        target=S.CLOSED,
        permission=by(Role.BUYER, Role.PLATFORM),
        custom=Act(_("Accept the rejection")),
    )
    def accept_rejection(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=[S.REJECTED, S.AWAITING_RETURN],
        target=S.CLOSED,
        permission=by(Role.SYSTEM),
        custom=Act(_("Close (buyer did not act in time)"), needs=(REASON.optional(),), system_only=True),
    )
    def expire(self) -> None:
        pass

    # -- goods coming back -----------------------------------------------------------------------------
    @transition(
        field=FIELD,
        source=S.AWAITING_RETURN,
        target=S.RETURN_IN_TRANSIT,
        permission=by(Role.BUYER, Role.OPERATIONS, Role.PLATFORM),
        custom=Act(_("Give return tracking"), needs=SHIPPING, prepare=Ship(ShipmentDirection.RETURN)),
    )
    def ship_back(self, *, shipment: Shipment) -> None:
        self.return_shipment = shipment

    @transition(
        field=FIELD,
        source=S.RETURN_IN_TRANSIT,
        target=S.RECEIVED,
        permission=by(Role.WAREHOUSE, Role.INTEGRATION),
        custom=Act(_("Mark parcel received"), bulk=_("Mark selected returns and exchanges received")),
    )
    def receive(self) -> None:
        self.goods_received = True

    @transition(
        field=FIELD,
        source=S.RETURN_IN_TRANSIT,
        target=S.REFUND_PENDING,
        permission=by(Role.SYSTEM, Role.PLATFORM),  # PLATFORM: the marketplace refunded an unconfirmed return
        custom=Act(
            _("Refund automatically (receipt not confirmed in time)"), needs=(REASON.optional(),), system_only=True
        ),
    )
    def auto_refund(self) -> None:
        self.approved_amount = self.requested_amount

    # -- inspection ------------------------------------------------------------------------------------
    @transition(
        field=FIELD,
        source=S.RECEIVED,
        target=S.REFUND_PENDING,
        permission=by(Role.WAREHOUSE),
        custom=Act(
            _("Inspection passed (full refund)"), bulk=_("Inspection passed for selected returns and exchanges")
        ),
    )
    def pass_inspection(self) -> None:
        self.approved_amount = self.requested_amount

    @transition(
        field=FIELD,
        source=S.RECEIVED,
        target=S.REFUND_PENDING,
        permission=by(Role.WAREHOUSE),
        custom=Act(_("Inspection passed partly (partial refund)"), needs=(AMOUNT, REASON)),
    )
    def pass_inspection_partly(self, *, amount: Decimal, reason: str) -> None:
        require(reason, "reason", gettext("A reason for the partial refund"))
        if amount is None or amount <= 0 or amount >= self.requested_amount or amount != amount.quantize(FEN):
            raise InvalidAmount(
                gettext("A partial refund must be above ¥0.00 and below the requested ¥%(requested)s, in fen.")
                % {"requested": self.requested_amount},
                field="amount",
            )
        self.approved_amount = amount

    @transition(
        field=FIELD,
        source=S.RECEIVED,
        target=S.REJECTED,
        permission=by(Role.WAREHOUSE),
        custom=Act(_("Inspection failed"), needs=(REASON,)),
    )
    def fail_inspection(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason why the inspection failed"))

    # -- money -----------------------------------------------------------------------------------------
    @transition(
        field=FIELD,
        source=S.REFUND_PENDING,
        target=S.REFUNDED,
        # Only the payment path runs this (tickets.services.refunds.refund_execute), after the Refund row is
        # marked paid: a person clicking "paid" could leave the row pending and a later retry would pay twice.
        # PLATFORM: a marketplace pays its own refunds; tickets.services.refunds.refund_settle_on_platform marks the
        # row paid first, for the same reason.
        permission=by(Role.SYSTEM, Role.PLATFORM),
        custom=Act(_("Refund paid"), needs=(REFUND_KEY, GATEWAY_REFERENCE), system_only=True),
    )
    def complete_refund(self) -> None:
        pass

    # -- arbitration and the platform's intervention (平台介入 / 小二介入) -------------------------------------
    @transition(
        field=FIELD,
        source=[S.REQUESTED, S.AWAITING_RETURN, S.RETURN_IN_TRANSIT, S.RECEIVED, S.COUNTER_OFFERED],
        target=S.ARBITRATION,
        # Only the marketplace: it took the case over (the buyer asked it to, or it stepped in on its own).
        permission=by(Role.PLATFORM),
        custom=Act(_("Platform intervenes"), needs=(REASON.optional(),), system_only=True),
    )
    def intervene(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.ARBITRATION,
        target=S.EVIDENCE_SUBMITTED,
        permission=by(Role.SUPERVISORS),  # the arbitration step is theirs
        custom=Act(_("Submit evidence to the platform"), needs=(STATEMENT,), note="statement"),
        conditions=[ON_A_MARKETPLACE],
    )
    def submit_evidence(self, *, statement: str) -> None:
        require(statement, "statement", gettext("A statement for the platform"))

    @transition(
        field=FIELD,
        source=S.EVIDENCE_SUBMITTED,
        target=S.ARBITRATION,
        permission=by(Role.PLATFORM),  # the platform asks the merchant for more (a new evidence deadline)
        custom=Act(_("Platform asks for more evidence"), needs=(REASON.optional(),), system_only=True),
    )
    def request_evidence(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=[S.ARBITRATION, S.EVIDENCE_SUBMITTED],
        # With an amount (the platform's ruling names what it refunds), straight to the refund of it.
        target=GET_STATE(
            lambda self, amount=None, **_: S.REFUND_PENDING if amount else self._after_approval(),
            states=[S.AWAITING_RETURN, S.REFUND_PENDING],
        ),
        permission=by(Role.SUPERVISORS, Role.PLATFORM),  # PLATFORM: the marketplace ruled for the buyer
        custom=Act(
            _("Arbitrate for the buyer"), needs=(AMOUNT.optional(), REASON.optional()), prepare=RefundCap("amount")
        ),
    )
    def uphold_buyer(self, *, amount: Decimal | None = None) -> None:
        if amount is not None:
            self._check_refund(amount, "amount")
            self.approved_amount = amount

    @transition(
        field=FIELD,
        source=[S.ARBITRATION, S.EVIDENCE_SUBMITTED],
        target=S.CLOSED,
        # PLATFORM: the marketplace's ruling (小二 decided for the merchant).
        permission=by(Role.SUPERVISORS, Role.PLATFORM),
        custom=Act(_("Uphold the rejection"), needs=(REASON,)),
    )
    def uphold_rejection(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for upholding the rejection"))

    # -- 协商: the merchant's counter-offer, answered by the buyer ---------------------------------------------
    @transition(
        field=FIELD,
        source=[S.REQUESTED, S.RECEIVED],
        target=S.COUNTER_OFFERED,
        # PLATFORM: the merchant made the offer in the platform's back office.
        permission=by(Role.OPERATIONS, Role.WAREHOUSE, Role.PLATFORM),
        custom=Act(
            _("Make a counter-offer"), needs=(OFFER_AMOUNT, OFFER), prepare=RefundCap("offer_amount"), note="offer"
        ),
    )
    def counter_offer(self, *, offer: str, offer_amount: Decimal | None = None) -> None:
        self.offer = require(offer, "offer", gettext("What is offered to the buyer"))
        if offer_amount is not None:
            self._check_refund(offer_amount, "offer_amount")
        self.offered_amount = offer_amount

    @transition(
        field=FIELD,
        source=S.COUNTER_OFFERED,
        # The offered amount becomes what the buyer asks for; the return then goes on as an approval would
        # (refunded at once without goods to send back). An offer without money settles the request: closed.
        target=GET_STATE(
            lambda self, **_: self._after_approval() if self.offered_amount else S.CLOSED,
            states=[S.AWAITING_RETURN, S.REFUND_PENDING, S.CLOSED],
        ),
        permission=by(Role.BUYER, Role.PLATFORM),  # PLATFORM: the buyer accepted on the marketplace
        custom=Act(_("Accept the offer")),
    )
    def accept_offer(self) -> None:
        if self.offered_amount:
            self.requested_amount = self.offered_amount

    @transition(
        field=FIELD,
        source=S.COUNTER_OFFERED,
        target=GET_STATE(lambda self, **_: self._before_offer(), states=[S.REQUESTED, S.RECEIVED]),
        # SYSTEM: the buyer did not answer in time (STEPS); PLATFORM: the buyer declined on the marketplace.
        permission=by(Role.BUYER, Role.SYSTEM, Role.PLATFORM),
        custom=Act(_("Decline the offer"), needs=(REASON.optional(),)),
    )
    def decline_offer(self) -> None:
        self.offered_amount = None

    def _check_refund(self, amount: Decimal, field: str) -> None:
        if amount <= 0 or amount > self.requested_amount or amount != amount.quantize(FEN):
            raise InvalidAmount(
                gettext("The amount must be above ¥0.00 and at most the requested ¥%(requested)s, in fen.")
                % {"requested": self.requested_amount},
                field=field,
            )

    @transition(
        field=FIELD,
        source=[S.REQUESTED, S.REJECTED, S.AWAITING_RETURN, S.COUNTER_OFFERED, S.ARBITRATION, S.EVIDENCE_SUBMITTED],
        target=S.CANCELLED,
        permission=by(Role.BUYER, Role.PLATFORM),  # PLATFORM: the buyer withdrew on the marketplace
        custom=Act(_("Cancel (withdraw)"), needs=(REASON.optional(),)),
    )
    def cancel(self) -> None:
        pass
