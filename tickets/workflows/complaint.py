"""投诉: the complaint state machine (SPEC "complaint").

A buyer may reopen a complaint (from a proposed resolution or after it closed) a limited number of times
(``KEFU_COMPLAINT_MAX_REOPENS``); ``closed`` is final once that limit is reached.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kefu.core.vocabulary import ComplaintState as S
from tickets.actors import Role
from tickets.errors import require
from tickets.models.base import Kind, Ticket
from tickets.workflows.acts import REASON, RESOLUTION, Act, transition
from tickets.workflows.steps import BUYER, END, ESCALATE, Rule, Step, by, complaint_max_reopens, hours

FIELD = "state"


class ComplaintCategory(models.TextChoices):
    SERVICE_ATTITUDE = "service_attitude", _("Service attitude")
    PRODUCT_QUALITY = "product_quality", _("Product quality")
    DELIVERY = "delivery", _("Delivery")
    DESCRIPTION_MISMATCH = "description_mismatch", _("Description mismatch")
    OTHER = "other", _("Other")


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


def _under_reopen_limit(ticket: ComplaintTicket) -> bool:
    return ticket.reopen_count < complaint_max_reopens()


def _reopen_limit_message(ticket: ComplaintTicket) -> str:
    # Formatted when the rule refuses, in the language active then (the request's).
    return gettext("Complaint %(number)s was already reopened %(count)s times (the limit).") % {
        "number": ticket.number,
        "count": ticket.reopen_count,
    }


can_reopen = Rule(_under_reopen_limit, _reopen_limit_message)


class ComplaintTicket(Ticket):
    KIND = Kind.COMPLAINT
    NUMBER_PREFIX = "CP"
    INITIAL_STATE = S.OPEN
    # ``closed`` may still be reopened while reopens are left; see is_final.
    FINAL_STATES = frozenset({S.CANCELLED})
    STEPS = {
        S.OPEN: Step("operations", hours(2), ESCALATE),
        S.ACKNOWLEDGED: Step("operations", hours(24), ESCALATE),
        S.INVESTIGATING: Step("operations", hours(72), ESCALATE),
        S.ESCALATED: Step("supervisors", hours(48), ESCALATE),
        S.RESOLUTION_PROPOSED: Step(BUYER, hours(72), "expire"),
        S.CLOSED: END,
        S.CANCELLED: END,
    }

    category = models.CharField(_("category"), max_length=32, choices=ComplaintCategory.choices)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices, default=Severity.MEDIUM)
    resolution = models.TextField(_("proposed resolution"), blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    @property
    def is_final(self) -> bool:
        if self.state == S.CLOSED:
            return self.reopen_count >= complaint_max_reopens()
        return self.state in self.FINAL_STATES

    @transition(
        field=FIELD,
        source=S.OPEN,
        target=S.ACKNOWLEDGED,
        permission=by(Role.OPERATIONS),
        custom=Act(_("Acknowledge"), needs=(REASON.optional(),), bulk=_("Acknowledge selected complaints")),
    )
    def acknowledge(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.ACKNOWLEDGED,
        target=S.INVESTIGATING,
        permission=by(Role.OPERATIONS),
        custom=Act(
            _("Start investigating"),
            needs=(REASON.optional(),),
            bulk=_("Start investigating selected complaints and logistics cases"),
        ),
    )
    def investigate(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=[S.INVESTIGATING, S.ESCALATED],
        target=S.RESOLUTION_PROPOSED,
        permission=by(Role.OPERATIONS, Role.SUPERVISORS),
        custom=Act(_("Propose a resolution"), needs=(RESOLUTION,), note="resolution"),
    )
    def propose_resolution(self, *, resolution: str) -> None:
        self.resolution = require(resolution, "resolution", gettext("The proposed resolution"))

    @transition(
        field=FIELD,
        source=S.RESOLUTION_PROPOSED,
        target=S.CLOSED,
        permission=by(Role.BUYER),
        custom=Act(_("Accept the resolution")),
    )
    def accept_resolution(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=S.RESOLUTION_PROPOSED,
        target=S.CLOSED,
        permission=by(Role.SYSTEM),
        custom=Act(_("Close (buyer did not answer in time)"), needs=(REASON.optional(),), system_only=True),
    )
    def expire(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=[S.RESOLUTION_PROPOSED, S.CLOSED],
        target=S.INVESTIGATING,
        conditions=[can_reopen],
        permission=by(Role.BUYER),
        custom=Act(_("Reopen"), needs=(REASON,)),
    )
    def reopen(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for reopening"))
        self.reopen_count += 1

    @transition(
        field=FIELD,
        source=[S.OPEN, S.ACKNOWLEDGED, S.INVESTIGATING, S.RESOLUTION_PROPOSED],
        target=S.ESCALATED,
        permission=by(Role.BUYER, Role.OPERATIONS),
        custom=Act(_("Escalate to supervisors"), needs=(REASON.optional(),)),
    )
    def escalate(self) -> None:
        pass

    @transition(
        field=FIELD,
        source=[S.OPEN, S.ACKNOWLEDGED, S.INVESTIGATING, S.ESCALATED],
        target=S.CLOSED,
        permission=by(Role.SUPERVISORS),
        custom=Act(_("Dismiss"), needs=(REASON,)),
    )
    def dismiss(self, *, reason: str) -> None:
        require(reason, "reason", gettext("A reason for dismissing the complaint"))

    @transition(
        field=FIELD,
        source=[S.OPEN, S.ACKNOWLEDGED, S.INVESTIGATING, S.ESCALATED, S.RESOLUTION_PROPOSED],
        target=S.CANCELLED,
        permission=by(Role.BUYER),
        custom=Act(_("Withdraw"), needs=(REASON.optional(),)),
    )
    def cancel(self) -> None:
        pass
