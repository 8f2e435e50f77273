"""The list's bulk actions: each selected ticket goes through the same service as its page's button.

Every ticket runs in its own transaction (the service's), as the logged-in user's actor, with the version it
was loaded with; one refusal does not stop the others. The user is told how many succeeded and, grouped by
the reason, which did not and why (the domain error's message, as the API would answer).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from desk.admin.access import request_actor
from desk.admin.forms import staff_users
from kefu.core.errors import DomainError
from tickets.actions import bulk_actions
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.selectors import tickets_as_kinds
from tickets.services import ticket_act
from tickets.services.assignment import ticket_claim, ticket_reassign

# "Select all N tickets" applies an action to the whole filtered list; past this it is refused (one service
# call per ticket in the request).
BULK_LIMIT = 500
# Tickets named per refusal reason in the message; the rest are counted.
NAMED_PER_REASON = 10

TicketWork = Callable[[Ticket, Actor], Any]


def error_text(exc: DomainError) -> str:
    """The refusal's message, as the API would answer it."""
    return exc.message


def run_per_ticket(request: HttpRequest, queryset: QuerySet[Ticket], *, label: str, work: TicketWork) -> None:
    """Run ``work`` on each selected ticket (as its kind) and report successes and refusals."""
    count = queryset.count()
    if count > BULK_LIMIT:
        messages.error(
            request,
            _("%(count)d tickets selected; bulk actions take at most %(limit)d at a time. Narrow the list down.")
            % {"count": count, "limit": BULK_LIMIT},
        )
        return
    actor = request_actor(request)
    done = 0
    # Grouped by the refusal's code, so "not in that state" and "not your department" read apart.
    refused: dict[str, list[str]] = defaultdict(list)
    for ticket in tickets_as_kinds(list(queryset.order_by("pk"))):
        try:
            work(ticket, actor)
        except DomainError as exc:
            refused[getattr(exc, "code", type(exc).__name__)].append(f"{ticket.number}: {error_text(exc)}")
        else:
            done += 1
    if done:
        messages.success(
            request,
            ngettext("%(action)s: %(count)d ticket succeeded.", "%(action)s: %(count)d tickets succeeded.", done)
            % {"action": label, "count": done},
        )
    for entries in refused.values():
        shown = "; ".join(entries[:NAMED_PER_REASON])
        more = len(entries) - NAMED_PER_REASON
        if more > 0:
            shown += " " + _("(and %(count)d more)") % {"count": more}
        messages.warning(
            request,
            ngettext(
                "%(action)s: %(count)d ticket not changed — %(details)s",
                "%(action)s: %(count)d tickets not changed — %(details)s",
                len(entries),
            )
            % {"action": label, "count": len(entries), "details": shown},
        )


# A bulk action of the ticket list, as ModelAdmin.actions takes it.
BulkAction = Callable[["admin.ModelAdmin[Ticket]", HttpRequest, QuerySet[Ticket]], None]


def transition_action(name: str, description: Any) -> BulkAction:
    """A bulk action running transition ``name`` (no required input) on every selected ticket."""

    def action(modeladmin: admin.ModelAdmin[Ticket], request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        run_per_ticket(
            request,
            queryset,
            label=str(description),
            work=lambda ticket, actor: ticket_act(ticket=ticket, actor=actor, action=name),
        )

    action.__name__ = f"bulk_{name}"
    return admin.action(description=description, permissions=["act"])(action)


# The transitions declared with ``bulk=`` (``tickets.actions.bulk_actions``: they need no input), one action per
# name for every kind that has it. The state machine still decides per ticket: a ticket of another kind, state
# or department is reported as refused, with the reason.
TRANSITION_ACTIONS = [transition_action(name, description) for name, description in bulk_actions().items()]


@admin.action(description=gettext_lazy("Claim selected tickets (assign them to me)"), permissions=["act"])
def bulk_claim(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
    run_per_ticket(
        request, queryset, label=_("Claim"), work=lambda ticket, actor: ticket_claim(ticket=ticket, actor=actor)
    )


@admin.action(description=gettext_lazy("Assign selected tickets to the member chosen"), permissions=["supervise"])
def bulk_assign(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
    assignee_id = request.POST.get("assignee")
    assignee = staff_users().filter(pk=assignee_id).first() if assignee_id and assignee_id.isdigit() else None
    if assignee is None:
        messages.error(request, _("Choose the staff member to assign the tickets to, next to the action."))
        return
    run_per_ticket(
        request,
        queryset,
        label=_("Assign to %(user)s") % {"user": assignee.get_username()},
        work=lambda ticket, actor: ticket_reassign(ticket=ticket, actor=actor, assignee=assignee),
    )


@admin.action(description=gettext_lazy("Unassign selected tickets (back to the queue)"), permissions=["supervise"])
def bulk_unassign(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
    run_per_ticket(
        request,
        queryset,
        label=_("Unassign"),
        work=lambda ticket, actor: ticket_reassign(ticket=ticket, actor=actor, assignee=None),
    )


BULK_ACTIONS: list[BulkAction] = [bulk_claim, bulk_assign, bulk_unassign, *TRANSITION_ACTIONS]
