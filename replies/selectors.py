"""The replies and macros the desk offers on a ticket: those of its shop (or every shop) and of the agent's
departments (or every department; supervisors see every department's)."""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from replies.models import CannedReply, CannedReplyText, Macro
from tickets.actions import available_actions
from tickets.actors import Actor
from tickets.models import Ticket

MAX_SEARCH_RESULTS = 10


def _scope(ticket: Ticket, actor: Actor) -> Q:
    scope = Q(active=True) & (Q(shop__isnull=True) | Q(shop_id=ticket.shop_id))
    if not actor.is_supervisor:
        scope &= Q(department__isnull=True) | Q(department__code__in=sorted(actor.departments))
    return scope


def replies_for(*, ticket: Ticket, actor: Actor, query: str = "") -> QuerySet[CannedReply]:
    """The replies in scope matching every word of ``query`` in their title, keywords or a body; with their
    texts (one query for them all). The shop's own first."""
    found = CannedReply.objects.filter(_scope(ticket, actor))
    for word in query.split()[:5]:
        found = found.filter(
            Q(title__icontains=word) | Q(keywords__icontains=word) | Q(pk__in=_with_text(word)),
        )
    return found.prefetch_related("texts").order_by(F("shop_id").asc(nulls_last=True), "title", "pk")[
        :MAX_SEARCH_RESULTS
    ]


def _with_text(word: str) -> QuerySet:
    return CannedReplyText.objects.filter(body__icontains=word).values("reply_id")


def macros_for(*, ticket: Ticket, actor: Actor) -> list[Macro]:
    """The macros in scope that apply to the ticket now: no transition (and any kind or the ticket's), or a
    transition the actor may run in the ticket's current state (tickets.actions.available_actions)."""
    runnable = {action.name for action in available_actions(ticket, actor)}
    found = Macro.objects.filter(_scope(ticket, actor), Q(kind="") | Q(kind=ticket.kind)).select_related("reply")
    return [macro for macro in found.order_by("title", "pk") if not macro.action or macro.action in runnable]
