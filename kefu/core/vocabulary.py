"""The words every app shares, declared once: ticket kinds and each kind's states (under the names
integrations see, SPEC "Ticket kinds and their state machines"), priorities, the default departments and
the buyer as a step's owner.

Kept apart from the state machines so the ticket table's check constraint and choices, routing rules and
deadline policies, notification templates and the dashboards can all name them without importing tickets.
Adding a state here needs a migration (the constraint) and a row in the kind's ``STEPS`` table.
"""

import functools
from dataclasses import dataclass
from datetime import timedelta

from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    RETURN = "return", _("Return / refund")
    # With a context: django-celery-beat's catalogue translates a bare "Exchange" (an AMQP exchange) as
    # 交换机, which the admin showed as this kind's name in zh-hans.
    EXCHANGE = "exchange", pgettext_lazy("ticket kind", "Exchange")
    COMPLAINT = "complaint", _("Complaint")
    LOGISTICS = "logistics", _("Logistics exception")


class Priority(models.IntegerChoices):
    LOW = 10, _("Low")
    NORMAL = 20, _("Normal")
    HIGH = 30, _("High")
    URGENT = 40, _("Urgent")


class Department(models.TextChoices):
    OPERATIONS = "operations", _("Operations")
    WAREHOUSE = "warehouse", _("Warehouse")
    LOGISTICS = "logistics", _("Logistics")
    SUPERVISORS = "supervisors", _("Supervisors")


# A step's owner while the buyer must act next: no department holds the ticket, the clock still runs
# (the kinds' STEPS tables, routing.services.step_route).
BUYER = "buyer"

# Codes no department may have (routing.models.Department.clean, migration routing 0005): the actors who are not
# a department (tickets.actors: the buyer, the system timer, integrations; "staff" is the kind of every staff
# actor) and words a reader would take for one ("platform", "supervisor" beside the department "supervisors").
# A department's code is stored on tickets and read as the staff's department: with one of these it would read
# as a role. Settings and secrets (issue 12).
RESERVED_DEPARTMENT_CODES = frozenset(
    {
        BUYER,
        "system",
        "integration",
        "staff",
        "platform",
        "supervisor",
        "admin",
        "superuser",
        "anonymous",
        "anyone",
        "nobody",
        "everyone",
    }
)


# ``on_due`` value meaning "the clock is an internal SLA: escalate" rather than a transition name.
ESCALATE = "escalate"


@dataclass(frozen=True)
class Step:
    """One state's routing and clock.

    ``owner`` is the department that must act (a ``Department`` value), ``"buyer"`` while waiting on the
    buyer, or ``""`` in an end state. ``on_due`` is the transition the system runs when ``deadline`` has
    passed (a platform timeout) or ``ESCALATE`` for an internal SLA.
    """

    owner: str
    deadline: timedelta | None = None
    on_due: str | None = None


END = Step(owner="")


class ReturnState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    REJECTED = "rejected", _("Rejected")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    RETURN_IN_TRANSIT = "return_in_transit", _("Return in transit")
    RECEIVED = "received", _("Received")
    REFUND_PENDING = "refund_pending", _("Refund pending")
    COUNTER_OFFERED = "counter_offered", _("Counter-offer awaiting the buyer")
    ARBITRATION = "arbitration", _("Arbitration")
    EVIDENCE_SUBMITTED = "evidence_submitted", _("Evidence submitted, awaiting the ruling")
    REFUNDED = "refunded", _("Refunded")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class ExchangeState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    REJECTED = "rejected", _("Rejected")
    AWAITING_RETURN = "awaiting_return", _("Awaiting return")
    RETURN_IN_TRANSIT = "return_in_transit", _("Return in transit")
    RECEIVED = "received", _("Received")
    REPLACEMENT_PENDING = "replacement_pending", _("Replacement pending")
    REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement shipped")
    ARBITRATION = "arbitration", _("Arbitration")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class ComplaintState(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Investigating")
    ESCALATED = "escalated", _("Escalated")
    RESOLUTION_PROPOSED = "resolution_proposed", _("Resolution proposed")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class LogisticsState(models.TextChoices):
    REPORTED = "reported", _("Reported")
    INVESTIGATING = "investigating", _("Investigating")
    RESHIPPING = "reshipping", _("Reshipping")
    RESHIPPED = "reshipped", _("Reshipped")
    # A compensation above the approval threshold waits here for a second supervisor (maker-checker).
    COMPENSATION_REVIEW = "compensation_review", _("Compensation awaiting approval")
    COMPENSATING = "compensating", _("Compensating")
    REFUNDING = "refunding", _("Refunding")
    FOUND = "found", _("Found")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


STATES_BY_KIND: dict[str, type[models.TextChoices]] = {
    Kind.RETURN: ReturnState,
    Kind.EXCHANGE: ExchangeState,
    Kind.COMPLAINT: ComplaintState,
    Kind.LOGISTICS: LogisticsState,
}


def all_state_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for states in STATES_BY_KIND.values():
        for value, label in states.choices:
            seen.setdefault(value, label)
    return sorted(seen.items())


def state_label(kind: str, state: str) -> str:
    """The state's label in the active language (the state's code if the kind has no such state)."""
    return _state_label(kind, state, get_language())


@functools.lru_cache(maxsize=1024)
def _state_label(kind: str, state: str, language: str | None) -> str:
    try:
        return str(STATES_BY_KIND[kind](state).label)  # translated in ``language``, the active one
    except ValueError:
        return state
