"""Which clock a ticket's step runs on, and how much of it is left: business time or calendar time.

- An internal SLA counts **business time** of the department that holds the step (its calendar, routing.calendars;
  24×7 without one): a merchant step that escalates when late (``on_due`` = ESCALATE), and kefu's own clock on a
  marketplace's case (the sweep escalates it; the platform runs its own timeouts).
- What the buyer or a marketplace is promised stays **calendar time**: a buyer's step (time to ship a return,
  to answer an offer), a merchant step whose timeout acts for the buyer (``requested`` 48 h → approve), and the
  platform's deadline (``platform_due_at``), which tickets.services.engine.platform_clock_apply puts the step's
  deadline before.

:func:`step_clock` computes a step's deadline and warning (the ticket engine's only place for it);
:func:`time_left` says what a queue's chip shows. Neither reads the database: calendars come from routing's
snapshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from django.conf import settings

from kefu.core.vocabulary import BUYER, ESCALATE
from routing.calendars import business_add, business_between, business_deadline, department_schedule
from tickets.workflows import model_for_kind

if TYPE_CHECKING:
    from tickets.models.base import Ticket

BUSINESS = "business"
CALENDAR = "calendar"
# What a step's deadline is (TimeLeft.binding).
INTERNAL = "internal"  # the merchant's own SLA (deadline policy or the kind's default)
PLATFORM = "platform"  # the marketplace's deadline (less the margin) comes first
BUYER_TIME = "buyer"  # the buyer's time to act
AUTOMATIC = "automatic"  # the system acts for the buyer when it runs out (e.g. approves a return after 48 h)


def platform_deadline_margin() -> timedelta:
    return timedelta(minutes=float(getattr(settings, "KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES", 120)))


def step_binding(ticket: Ticket) -> str:
    """What kind of clock the ticket's current step has, from its kind's ``STEPS`` table (platform aside)."""
    steps = ticket.STEPS
    if not steps and ticket.kind:  # a plain Ticket row (the queue's list): its kind's table
        steps = model_for_kind(ticket.kind).STEPS
    step = steps.get(ticket.state)
    if step is None:  # no step known (an unsaved or ended ticket): kefu's own clock
        return INTERNAL
    if step.owner == BUYER:
        return BUYER_TIME
    if ticket.platform or step.on_due == ESCALATE:
        return INTERNAL
    return AUTOMATIC


def step_clock(
    ticket: Ticket, *, department: str | None, start: datetime, deadline: timedelta | None, warn_percent: int = 100
) -> tuple[datetime | None, datetime | None]:
    """(deadline, warning time) of the ticket's current step started at ``start``, held by ``department``.

    An internal SLA counts ``department``'s business time (business hours under a day, working days from a day
    on: routing.calendars.business_deadline); the rest calendar time. No warning at 100 %.
    """
    if not deadline:
        return None, None
    warn_after = deadline * warn_percent / 100 if warn_percent < 100 else None
    if step_binding(ticket) == INTERNAL:
        due = business_deadline(department, start, deadline)
        warn = None
        if warn_after is not None and deadline < timedelta(days=1):  # business hours: the share of them
            warn = business_add(department, start, warn_after)
        elif warn_after is not None:  # working days: the share of the business time until the deadline
            warn = business_add(department, start, business_between(department, start, due) * warn_percent / 100)
    else:
        due = start + deadline
        warn = start + warn_after if warn_after is not None else None
    return due, warn


class TimeLeft(NamedTuple):
    """What is left of a ticket's step: ``seconds`` (negative: overdue by that much) counted on ``basis``
    (BUSINESS: the department's working hours only; CALENDAR: around the clock), until ``due_at``, which is
    ``binding``: INTERNAL, PLATFORM, BUYER_TIME or AUTOMATIC."""

    seconds: int
    basis: str
    binding: str
    due_at: datetime


def time_left(ticket: Ticket, now: datetime) -> TimeLeft | None:
    """Time left until the ticket's step deadline (``step_due_at``), on the clock that deadline runs on; None when
    the step has no deadline (closed, or a buyer step a marketplace times itself).

    An escalated ticket keeps its step's deadline: it shows how long ago it was due. No query (the department's
    calendar comes from routing's snapshot): fit for every row of a queue. ``seconds, basis, *_ = time_left(…)``.
    """
    due = ticket.step_due_at
    if due is None:
        return None
    binding = step_binding(ticket)
    if ticket.platform_due_at is not None and binding == INTERNAL:
        if due >= ticket.platform_due_at - platform_deadline_margin():
            binding = PLATFORM
    department = ticket.step_department or None
    if binding == INTERNAL and department_schedule(department) is not None:
        return TimeLeft(int(business_between(department, now, due).total_seconds()), BUSINESS, binding, due)
    return TimeLeft(int((due - now).total_seconds()), CALENDAR, binding, due)
