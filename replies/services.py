"""Canned replies rendered for a ticket, and macros applied to it: the desk's and the API's one path.

``macro_apply`` runs the macro's transition, sends its reply (public: the buyer is notified, as for any public
comment), writes its internal note and sets its priority, through the ticket services (ticket_act,
ticket_comment_add, ticket_priority_set) in one transaction: if any part is refused (the transition no longer
applies, the page was stale, an input is wrong, the reply is too long) nothing of it is written, and no message
goes out (the outbox rows are written in the same transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kefu.core.errors import ValidationFailed
from replies.models import CannedReply, Macro
from replies.rendering import buyer_language, render, reply_context, text_in
from replies.selectors import macros_for
from tickets.actions import action_get, actions_of
from tickets.actors import Actor
from tickets.errors import TransitionNotAllowed
from tickets.models import Ticket
from tickets.services import ticket_act, ticket_comment_add
from tickets.services.acting import inputs_validate
from tickets.services.priority import ticket_priority_set


@dataclass(frozen=True)
class RenderedReply:
    id: int
    title: str
    body: str


def reply_render(*, reply: CannedReply, ticket: Ticket, language: str | None = None) -> str:
    """The reply's text for ``ticket`` in the buyer's language (``language`` overrides it)."""
    language = language or buyer_language(ticket)
    return render(text_in(list(reply.texts.all()), language), reply_context(ticket, language), language)


def replies_render(*, replies: Any, ticket: Ticket) -> list[RenderedReply]:
    """Each reply rendered for ``ticket`` (the context built once; ``replies`` with their texts prefetched)."""
    language = buyer_language(ticket)
    context = reply_context(ticket, language)
    return [
        RenderedReply(reply.pk, reply.title, render(text_in(list(reply.texts.all()), language), context, language))
        for reply in replies
    ]


def macro_check(macro: Macro) -> None:
    """Refuse a macro whose transition is not one of its kind's, or whose inputs the transition would refuse."""
    if not macro.action:
        return
    if not macro.kind:
        raise ValidationFailed(_("A macro with a transition needs a ticket kind."), field="kind")
    declared = action_get(macro.kind, macro.action)
    if declared is None or declared.system_only:
        raise ValidationFailed(
            _("'%(transition)s' is not an action people run on a %(kind)s ticket; they run: %(names)s.")
            % {
                "transition": macro.action,
                "kind": macro.get_kind_display(),
                "names": ", ".join(a.name for a in actions_of(macro.kind) if not a.system_only),
            },
            field="action",
        )
    inputs_validate(declared, macro.inputs or {})


def macro_apply(*, macro: Macro, ticket: Ticket, actor: Actor) -> Ticket:
    """Apply ``macro`` to ``ticket`` as ``actor``; return the ticket as it is after.

    ``ticket.version`` is the version the agent saw: the transition refuses a stale page (TicketChanged).
    The transition runs first, so the reply and the note are rendered with the ticket as it then is (the new
    state's label, the new step's deadline: "send it back by …" is the buyer's deadline, not the review's).
    Raises ``TransitionNotAllowed`` (translated, naming the macro and the ticket's state) when the macro does not
    apply now, and whatever the ticket services raise (a reply too long, a stale page); then nothing is written.
    """
    if macro.pk not in {found.pk for found in macros_for(ticket=ticket, actor=actor)}:
        raise TransitionNotAllowed(
            _("Macro “%(macro)s” does not apply to ticket %(number)s now (%(state)s).")
            % {"macro": macro.title, "number": ticket.number, "state": ticket.state_label()},
            field="macro",
        )
    language = buyer_language(ticket)
    with transaction.atomic():
        acted = ticket
        if macro.action:
            try:
                acted = ticket_act(ticket=ticket, actor=actor, action=macro.action, **(macro.inputs or {}))
            except TransitionNotAllowed as exc:
                raise TransitionNotAllowed(
                    _("Macro “%(macro)s”: %(reason)s") % {"macro": macro.title, "reason": exc.message},
                    field="macro",
                ) from exc
        context = reply_context(acted, language)
        if macro.reply is not None:
            body = render(text_in(list(macro.reply.texts.all()), language), context, language)
            ticket_comment_add(ticket=acted, actor=actor, body=body, public=True)
        if macro.note.strip():
            ticket_comment_add(ticket=acted, actor=actor, body=render(macro.note, context, language), public=False)
        if macro.priority is not None:
            acted = ticket_priority_set(
                ticket=acted, actor=actor, priority=macro.priority, check_version=not macro.action
            )
    return acted
