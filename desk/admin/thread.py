"""The ticket page's thread: the conversation (comments) and the timeline as one list, newest first, every entry
named as people read it in their language (no operation names, state codes or actor kinds as stored).

One query for the entries whatever their number; labels come from the catalogues in memory
(``kefu.core.vocabulary.state_label``, ``tickets.actions``, ``tickets.wording``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from kefu.core.vocabulary import state_label
from tickets.actions import action_get
from tickets.actors import ActorKind
from tickets.models import EventType, Ticket, TicketEvent
from tickets.wording import actor_label, event_reason

# An entry's text longer than this (or with more lines) is shown folded: its first words, the rest on a click.
FOLD_CHARS = 120
FOLD_LINES = 2


@dataclass(frozen=True)
class Entry:
    """One line of the thread, ready to show."""

    event: TicketEvent
    title: str  # what happened: "Approve", "Comment", "Evidence attached", …
    actor: str  # who: a staff member's name, the buyer's name, "routing", …
    actor_kind: str  # their kind as a label: "Staff", "Buyer", "System", …
    change: str  # "Requested → Awaiting return", "Opened as Requested", "Assigned to ops-li", or ""
    text: str
    folded: bool  # long text: show ``preview`` and fold the rest
    preview: str

    @property
    def is_comment(self) -> bool:
        return self.event.event_type == EventType.COMMENT


def transition_label(ticket: Ticket, name: str) -> str:
    """An operation's label from the catalogue; a name no longer in it (an old release's) as a readable phrase."""
    action = action_get(ticket.kind, name)
    return str(action.label) if action is not None else name.replace("_", " ").capitalize()


def thread(ticket: Ticket) -> list[Entry]:
    """The ticket's timeline, newest first, in one query."""
    events = TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("-created_at", "-pk")
    return [entry(ticket, event) for event in events]


def entry(ticket: Ticket, event: TicketEvent) -> Entry:
    text = _text(event)
    lines = text.splitlines()
    folded = len(text) > FOLD_CHARS or len(lines) > FOLD_LINES
    preview = (lines[0] if lines else "")[:FOLD_CHARS].rstrip() + "…" if folded else text
    return Entry(
        event=event,
        title=_title(ticket, event),
        actor=actor_label(event.actor_name) if event.actor_kind == ActorKind.SYSTEM else event.actor_name,
        actor_kind=str(ActorKind(event.actor_kind).label) if event.actor_kind in ActorKind.values else "",
        change=_change(ticket, event),
        text=text,
        folded=folded,
        preview=preview,
    )


def _title(ticket: Ticket, event: TicketEvent) -> str:
    if event.transition:
        return transition_label(ticket, event.transition)
    if event.event_type == EventType.CREATED:
        return _("Ticket opened")
    return str(event.get_event_type_display())


def _change(ticket: Ticket, event: TicketEvent) -> str:
    if event.event_type == EventType.ASSIGNMENT:
        assignee = (event.payload or {}).get("assignee")
        if assignee:
            return _("Assigned to %(user)s") % {"user": assignee}
        return _("Back to the department's queue")
    if event.from_state and event.to_state:
        return f"{state_label(ticket.kind, event.from_state)} → {state_label(ticket.kind, event.to_state)}"
    if event.to_state:
        return _("Opened as %(state)s") % {"state": state_label(ticket.kind, event.to_state)}
    return ""


def _text(event: TicketEvent) -> str:
    reason = event_reason(event)
    if event.event_type == EventType.EVIDENCE and not reason:
        return str((event.payload or {}).get("name", ""))
    return reason
