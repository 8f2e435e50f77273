"""How a ticket's state and clock look in the admin: a coloured label per state group, red when overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from kefu.core.vocabulary import state_label
from tickets.clock import BUSINESS, PLATFORM, time_left
from tickets.models import Ticket, WaitingOn


class StateGroup:
    """Which colour a state's label gets: who must act now, or how the ticket ended."""

    MERCHANT = "merchant"
    BUYER = "buyer"
    DONE = "done"
    CANCELLED = "cancelled"

    LABELS = {
        MERCHANT: gettext_lazy("Waiting on us"),
        BUYER: gettext_lazy("Waiting on the buyer"),
        DONE: gettext_lazy("Done"),
        CANCELLED: gettext_lazy("Cancelled"),
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


class Urgency:
    """How close a deadline is, as the chip's colour: plenty of time, under four hours, under one, past it."""

    NONE = "none"  # no running clock (ended, or a step without a deadline)
    CALM = "calm"
    SOON = "soon"  # < 4 h: amber
    URGENT = "urgent"  # < 1 h: orange
    OVERDUE = "overdue"  # red

    SOON_WITHIN = timedelta(hours=4)
    URGENT_WITHIN = timedelta(hours=1)


def urgency(due: datetime | None, now: datetime) -> str:
    if due is None:
        return Urgency.NONE
    left = due - now
    if left < timedelta(0):
        return Urgency.OVERDUE
    if left < Urgency.URGENT_WITHIN:
        return Urgency.URGENT
    if left < Urgency.SOON_WITHIN:
        return Urgency.SOON
    return Urgency.CALM


def duration_text(span: timedelta, *, round_up: bool = False) -> str:
    """A span in at most two units: "45 minutes", "3 hours 20 minutes", "2 days 5 hours" (the minutes rounded
    down, or up with ``round_up``: time left is never overstated, nor is time overdue understated)."""
    seconds = max(0.0, span.total_seconds())
    minutes = int(-(-seconds // 60)) if round_up else int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)

    def days_text(n: int) -> str:
        return ngettext("%(n)d day", "%(n)d days", n) % {"n": n}

    def hours_text(n: int) -> str:
        return ngettext("%(n)d hour", "%(n)d hours", n) % {"n": n}

    def minutes_text(n: int) -> str:
        return ngettext("%(n)d minute", "%(n)d minutes", n) % {"n": n}

    if days:
        return f"{days_text(days)} {hours_text(hours)}" if hours else days_text(days)
    if hours:
        return f"{hours_text(hours)} {minutes_text(minutes)}" if minutes else hours_text(hours)
    return minutes_text(minutes)


def deadline_chip(ticket: Ticket, now: datetime | None = None) -> SafeString | str:
    """The current step's time left as a chip coloured by urgency ("剩 45 分钟", "超时 2 小时"), the deadline
    itself as its tooltip; "—" without a running clock. The queue's rows and the ticket page share it.

    The clock is the deadline's own (``tickets.clock.time_left``): an internal SLA of a department with a
    business-hours calendar counts working time ("剩 3 小时工作时间", coloured by the working time left); the
    marketplace's deadline, the buyer's time and automatic steps count calendar time. The tooltip says which.
    The overdue chip keeps the ``kefu-overdue`` class of the red due times it replaces.
    """
    now = now or timezone.now()
    left = time_left(ticket, now)
    if left is None:
        return "—"
    due = left.due_at
    business = left.basis == BUSINESS
    when = date_format(timezone.localtime(due), "Y-m-d H:i")
    if due < now:
        level = Urgency.OVERDUE
        text = pgettext("deadline chip", "overdue by %(time)s") % {"time": duration_text(now - due, round_up=True)}
        extra = " kefu-overdue"
    else:
        remaining = timedelta(seconds=max(0, left.seconds))
        level = urgency(now + remaining, now)
        label = (
            pgettext("deadline chip", "%(time)s of working time left")
            if business
            else pgettext("deadline chip", "%(time)s left")
        )
        text = label % {"time": duration_text(remaining)}
        extra = ""
    if left.binding == PLATFORM:
        clock = _("the marketplace's deadline, calendar time")
    elif business:
        clock = _("internal deadline, counted in the department's working hours")
    else:
        clock = _("calendar time")
    return format_html(
        '<span class="kefu-chip kefu-chip--{}{}" data-urgency="{}" data-basis="{}" data-binding="{}" title="{}">'
        "{}</span>",
        level,
        extra,
        level,
        left.basis,
        left.binding,
        "{} · {}".format(_("due %(when)s") % {"when": when}, clock),
        text,
    )
