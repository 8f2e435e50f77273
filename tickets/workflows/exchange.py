"""换货: the exchange state machine (SPEC "exchange").

``Role.PLATFORM`` marks what a marketplace reports of an exchange it runs (connectors.services.following): its
agreement or refusal, the buyer's parcel back and the merchant's receipt of it there, the replacement shipped in
its back office, the buyer's receipt, its ruling, the buyer withdrawing.

Out of stock at ``replacement_pending`` closes the exchange through ``convert_to_refund``; the service
then opens a linked refund (a return ticket with ``origin`` set to this exchange) for the same lines.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import GET_STATE

from kefu.core.vocabulary import ExchangeState as S
from orders.models import Shipment, ShipmentDirection
from tickets.actors import Role
from tickets.errors import require
from tickets.models.base import Kind, Ticket
from tickets.workflows.acts import DESCRIPTION, REASON, REPLACEMENT_SKU, SHIPPING, Act, LinkedRefund, Ship, transition
from tickets.workflows.steps import BUYER, END, ESCALATE, Step, by, days, hours

FIELD = "state"


class ExchangeTicket(Ticket):
    KIND = Kind.EXCHANGE
    NUMBER_PREFIX = "EX"
    INITIAL_STATE = S.REQUESTED
    FINAL_STATES = frozenset({S.COMPLETED, S.CLOSED, S.CANCELLED})
    STEPS = {
        S.REQUESTED: Step("operations", hours(48), "approve"),
        S.REJECTED: Step(BUYER, days(7), "expire"),
        S.AWAITING_RETURN: Step(BUYER, days(7), "expire"),
        S.RETURN_IN_TRANSIT: Step("warehouse", days(10), ESCALATE),
        S.RECEIVED: Step("warehouse", hours(24), ESCALATE),
        S.REPLACEMENT_PENDING: Step("warehouse", hours(48), ESCALATE),
        S.REPLACEMENT_SHIPPED: Step(BUYER, days(10), "auto_complete"),
        S.ARBITRATION: Step("supervisors", hours(48), ESCALATE),
        S.COMPLETED: END,
        S.CLOSED: END,
        S.CANCELLED: END,
    }

    replacement_sku = models.CharField(_("replacement SKU"), max_length=64)
    replacement_name = models.CharField(_("replacement item"), max_length=255, blank=True)
    return_shipment = models.ForeignKey(
        Shipment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("return shipment")
    )
    replacement_shipment = models.ForeignKey(
        Shipment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("replacement shipment"),
    )
    goods_received = models.BooleanField(_("goods received back"), default=False)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")

    @transition(
        field=FIELD,
        source=S.REQUESTED,
        target=S.AWAITING_RETURN,
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

    @transition(
        field=FIELD,
        source=S.REJECTED,
        target=S.REQUESTED,
        permission=by(Role.BUYER),
        custom=Act(_("Modify request"), needs=(REPLACEMENT_SKU, DESCRIPTION)),
    )
    def modify(self, *, replacement_sku: str | None = None, description: str | None = None) -> None:
        if replacement_sku is not None:
            self.replacement_sku = require(replacement_sku, "replacement_sku", gettext("The replacement SKU"))
        if description is not None:
            self.description = description

    @transition(
        field=FIELD,
        source=S.REJECTED,
        target=S.ARBITRATION,
        permission=by(Role.BUYER, Role.PLATFORM),
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
        permission=by(Role.WAREHOUSE, Role.INTEGRATION, Role.PLATFORM),
        custom=Act(_("Mark parcel received"), bulk=_("Mark selected returns and exchanges received")),
    )
    def receive(self) -> None:
        self.goods_received = True

    @transition(
        field=FIELD,
        source=S.RECEIVED,
        target=S.REPLACEMENT_PENDING,
        permission=by(Role.WAREHOUSE),
        custom=Act(_("Inspection passed"), bulk=_("Inspection passed for selected returns and exchanges")),
    )
    def pass_inspection(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.RECEIVED,
        target=S.REJECTED,
        permission=by(Role.WAREHOUSE),
        custom=Act(_("Inspection failed"), needs=(REASON,)),
    )
    def fail_inspection(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason why the inspection failed"))

    @transition(
        field=FIELD,
        source=S.REPLACEMENT_PENDING,
        target=S.REPLACEMENT_SHIPPED,
        permission=by(Role.WAREHOUSE, Role.PLATFORM),
        custom=Act(_("Ship the replacement"), needs=SHIPPING, prepare=Ship(ShipmentDirection.REPLACEMENT)),
    )
    def ship_replacement(self, *, shipment: Shipment) -> None:
        self.replacement_shipment = shipment

    @transition(
        field=FIELD,
        source=S.REPLACEMENT_PENDING,
        target=S.CLOSED,
        permission=by(Role.WAREHOUSE, Role.OPERATIONS),
        custom=Act(
            _("Out of stock: convert to refund"),
            needs=(REASON,),
            after=LinkedRefund("out_of_stock", approved_by="exchange out of stock"),
        ),
    )
    def convert_to_refund(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for converting the exchange into a refund"))

    @transition(
        field=FIELD,
        source=S.REPLACEMENT_SHIPPED,
        target=S.COMPLETED,
        permission=by(Role.BUYER, Role.PLATFORM),
        custom=Act(_("Confirm receipt of the replacement")),
    )
    def confirm_receipt(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.REPLACEMENT_SHIPPED,
        target=S.COMPLETED,
        permission=by(Role.SYSTEM),
        custom=Act(_("Complete automatically"), needs=(REASON.optional(),), system_only=True),
    )
    def auto_complete(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.ARBITRATION,
        target=GET_STATE(
            lambda self, **_: S.REPLACEMENT_PENDING if self.goods_received else S.AWAITING_RETURN,
            states=[S.AWAITING_RETURN, S.REPLACEMENT_PENDING],
        ),
        permission=by(Role.SUPERVISORS, Role.PLATFORM),
        custom=Act(_("Arbitrate for the buyer"), needs=(REASON.optional(),)),
    )
    def uphold_buyer(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.ARBITRATION,
        target=S.CLOSED,
        permission=by(Role.SUPERVISORS, Role.PLATFORM),
        custom=Act(_("Uphold the rejection"), needs=(REASON,)),
    )
    def uphold_rejection(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for upholding the rejection"))

    @transition(
        field=FIELD,
        source=[S.REQUESTED, S.REJECTED, S.AWAITING_RETURN, S.ARBITRATION],
        target=S.CANCELLED,
        permission=by(Role.BUYER, Role.PLATFORM),
        custom=Act(_("Cancel (withdraw)"), needs=(REASON.optional(),)),
    )
    def cancel(self) -> None:
        pass
