"""How a ticket's state and clock look in the admin: a coloured label per state group, red when overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext_lazy as _

from kefu.core.vocabulary import state_label
from tickets.models import Ticket, WaitingOn


class StateGroup:
    """Which colour a state's label gets: who must act now, or how the ticket ended."""

    MERCHANT = "merchant"
    BUYER = "buyer"
    DONE = "done"
    CANCELLED = "cancelled"

    LABELS = {
        MERCHANT: _("Waiting on us"),
        BUYER: _("Waiting on the buyer"),
        DONE: _("Done"),
        CANCELLED: _("Cancelled"),
    }


def state_group(ticket: Ticket) -> str:
    if ticket.waiting_on == WaitingOn.MERCHANT:
        return StateGroup.MERCHANT
    if ticket.waiting_on == WaitingOn.BUYER:
        return StateGroup.BUYER
    return StateGroup.CANCELLED if ticket.state == "cancelled" else StateGroup.DONE


def state_badge(ticket: Ticket) -> SafeString:
    group = state_group(ticket)
    return format_html(
        '<span class="kefu-state kefu-state--{}" title="{}" data-state="{}">{}</span>',
        group,
        StateGroup.LABELS[group],
        ticket.state,
        state_label(ticket.kind, ticket.state),
    )


def is_overdue(ticket: Ticket, now: datetime | None = None) -> bool:
    return ticket.step_due_at is not None and ticket.step_due_at < (now or timezone.now())


def due_display(ticket: Ticket, now: datetime | None = None) -> SafeString | str:
    """The current step's deadline, with how long until it (or how long it is overdue, in red)."""
    due = ticket.step_due_at
    if due is None:
        return "—"
    now = now or timezone.now()
    when = date_format(timezone.localtime(due), "Y-m-d H:i")
    if due < now:
        return format_html(
            '<span class="kefu-overdue" title="{}">{} · {}</span>',
            _("overdue by %(time)s") % {"time": timesince(due, now, depth=1)},
            when,
            _("overdue"),
        )
    return format_html('<span title="{}">{}</span>', _("in %(time)s") % {"time": timeuntil(due, now, depth=1)}, when)


# How close a deadline is, as the chip's colour: overdue, within the hour, within the day, later.
CHIP_SOON = timedelta(hours=1)
CHIP_TODAY = timedelta(hours=24)


def deadline_chip(ticket: Ticket, now: datetime) -> SafeString:
    """The current step's time left as a coloured chip ("3 hours left", "overdue by 2 days"), the exact deadline
    in its tooltip; a grey "no deadline" when the step has no clock (waiting on the buyer without one, ended)."""
    due = ticket.step_due_at
    if due is None:
        return format_html('<span class="kefu-chip kefu-chip--none">{}</span>', _("no deadline"))
    when = date_format(timezone.localtime(due), "Y-m-d H:i")
    if due <= now:
        urgency = "overdue"
        text = _("overdue by %(time)s") % {"time": timesince(due, now, depth=1)}
    else:
        left = due - now
        urgency = "soon" if left <= CHIP_SOON else "today" if left <= CHIP_TODAY else "later"
        text = _("%(time)s left") % {"time": timeuntil(due, now, depth=1)}
    return format_html(
        '<span class="kefu-chip kefu-chip--{}" title="{}" data-due="{}">{}</span>',
        urgency,
        _("Deadline of this step: %(when)s") % {"when": when},
        due.isoformat(),
        text,
    )
