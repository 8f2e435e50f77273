"""The queue: the ticket list's views as tabs with live counts, the polled fragment, and moving through a view.

A view is a condition on the tickets the user may see (``access.visible_tickets``), chosen by ``?view=``:

- ``mine``: open tickets assigned to the user;
- ``team``: open, unassigned tickets of the user's departments (what they may claim);
- ``due_soon``: open tickets waiting on us whose step deadline is within the hour;
- ``overdue``: open tickets waiting on us whose step deadline has passed;
- ``buyer``: open tickets waiting on the buyer;
- ``escalated``: open tickets the deadline sweep escalated, or in an escalation state (a complaint escalated);
- no ``view``: every ticket the user may see, as the list always was.

The six counts are one query (``COUNT(*) FILTER (WHERE …)`` per view over the user's open tickets), read on the
page and on every poll; the page's rows are the admin's own (filters, search, sort and page kept), narrowed by
the view. ``queue_fragment`` renders the tabs and the rows alone for the page's htmx poll. ``neighbour`` finds
the ticket after (or before) one in a view, for the ticket page's j/k.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from desk.admin.access import may_act, request_actor, visible_tickets
from tickets.actors import Actor
from tickets.models import Ticket, WaitingOn

VIEW_VAR = "view"
DUE_SOON = timedelta(hours=1)
OPEN = Q(closed_at__isnull=True)
# The states whose step is the supervisors' by design (a complaint escalated by operations).
ESCALATION_STATES = ("escalated",)


@dataclass(frozen=True)
class QueueView:
    code: str
    label: Promise
    condition: Callable[[Actor, datetime], Q]


def _mine(actor: Actor, now: datetime) -> Q:
    if actor.user is None:
        return Q(pk__in=[])  # nobody's: never "unassigned"
    return OPEN & Q(assignee_id=actor.user.pk)


def _team(actor: Actor, now: datetime) -> Q:
    return OPEN & Q(assignee__isnull=True, department__in=sorted(actor.departments))


def _due_soon(actor: Actor, now: datetime) -> Q:
    return OPEN & Q(waiting_on=WaitingOn.MERCHANT, step_due_at__gte=now, step_due_at__lt=now + DUE_SOON)


def _overdue(actor: Actor, now: datetime) -> Q:
    return OPEN & Q(waiting_on=WaitingOn.MERCHANT, step_due_at__lt=now)


def _buyer(actor: Actor, now: datetime) -> Q:
    return OPEN & Q(waiting_on=WaitingOn.BUYER)


def _escalated(actor: Actor, now: datetime) -> Q:
    return OPEN & (Q(escalation_level__gt=0) | Q(state__in=ESCALATION_STATES))


# In the order of the tabs and of their keys (1–6).
VIEWS = (
    QueueView("mine", pgettext_lazy("queue view", "Mine"), _mine),
    QueueView("team", pgettext_lazy("queue view", "My team's unassigned"), _team),
    QueueView("due_soon", pgettext_lazy("queue view", "Due within the hour"), _due_soon),
    QueueView("overdue", pgettext_lazy("queue view", "Overdue"), _overdue),
    QueueView("buyer", pgettext_lazy("queue view", "Waiting on the buyer"), _buyer),
    QueueView("escalated", pgettext_lazy("queue view", "Escalated"), _escalated),
)
BY_CODE = {view.code: view for view in VIEWS}
ALL_LABEL = pgettext_lazy("queue view", "All")


def view_of(params: QueryDict | dict[str, Any]) -> QueueView | None:
    """The view ``?view=`` names, or None (every ticket); an unknown name is every ticket too."""
    return BY_CODE.get(str(params.get(VIEW_VAR) or ""))


def view_condition(request: HttpRequest, view: QueueView | None, now: datetime | None = None) -> Q:
    if view is None:
        return Q()
    return view.condition(request_actor(request), now or timezone.now())


def view_counts(request: HttpRequest, now: datetime | None = None) -> dict[str, int]:
    """How many tickets each view holds for this user: one query, memoised for the request."""
    counts = getattr(request, "_kefu_queue_counts", None)
    if counts is None:
        actor = request_actor(request)
        now = now or timezone.now()
        counts = (
            visible_tickets(request)
            .filter(OPEN)
            .aggregate(**{view.code: Count("pk", filter=view.condition(actor, now)) for view in VIEWS})
        )
        request._kefu_queue_counts = counts  # type: ignore[attr-defined]
    return counts


def queue_tabs(request: HttpRequest) -> list[dict[str, Any]]:
    """The tabs: label, count, link (the view alone, first page, same sort order), key and whether current."""
    counts = view_counts(request)
    current = view_of(request.GET)
    keep = {ORDER_VAR: request.GET[ORDER_VAR]} if ORDER_VAR in request.GET else {}

    def link(code: str | None) -> str:
        query = QueryDict(mutable=True)
        query.update(keep)
        if code:
            query[VIEW_VAR] = code
        return f"?{query.urlencode()}" if query else "?"

    tabs: list[dict[str, Any]] = [
        {"code": "", "label": ALL_LABEL, "count": None, "url": link(None), "key": "0", "current": current is None}
    ]
    for index, view in enumerate(VIEWS, start=1):
        tabs.append(
            {
                "code": view.code,
                "label": view.label,
                "count": counts[view.code],
                "url": link(view.code),
                "key": str(index),
                "current": current is view,
            }
        )
    return tabs


def neighbour(queryset: QuerySet[Ticket], ticket: Ticket, *, step: int, default_order: bool) -> int | None:
    """The id of the ticket ``step`` (+1 or -1) places from ``ticket`` in ``queryset`` (ordered as the list is).

    The view's ids are read in order (one query, ids only). A ticket no longer in the view (claimed, handed on)
    is placed where the list's default order (step deadline, priority, id) would put it, so "next" still means
    the one after it; with another sort order the view starts again from its first ticket.
    """
    rows = list(queryset.values_list("pk", "step_due_at", "priority")[:LIMIT])
    ids = [pk for pk, _, _ in rows]
    if ticket.pk in ids:
        index = ids.index(ticket.pk) + step
        return ids[index] if 0 <= index < len(ids) else None
    if not rows:
        return None
    if not default_order:
        return ids[0] if step > 0 else ids[-1]
    key = _urgency_key(ticket.pk, ticket.step_due_at, ticket.priority)
    if step > 0:
        return next((pk for pk, due, priority in rows if _urgency_key(pk, due, priority) > key), None)
    before = [pk for pk, due, priority in rows if _urgency_key(pk, due, priority) < key]
    return before[-1] if before else None


# A view longer than this is walked within its first LIMIT tickets (the list's order puts the urgent ones first).
LIMIT = 20_000


def _urgency_key(pk: int, due: datetime | None, priority: int) -> tuple[int, float, int, int]:
    """The list's default order as a sortable key: deadline ascending with no deadline last, priority down."""
    return (1 if due is None else 0, due.timestamp() if due else 0.0, -priority, pk)


class QueueAdminMixin:
    """The queue's context and URLs, for ``TicketAdmin``: the tabs, the polled fragment, next/previous ticket in
    the view the agent came from, and claiming a row from the list (the page's claim, then back to the list)."""

    fragment_template = "admin/tickets/ticket/queue_fragment.html"

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("queue/", wrap(self.queue_fragment_view), name="tickets_ticket_queue"),
            path("<path:object_id>/next/", wrap(self.next_view), name="tickets_ticket_next"),
            path("<path:object_id>/previous/", wrap(self.previous_view), name="tickets_ticket_previous"),
            path("<path:object_id>/queue-claim/", wrap(self.queue_claim_view), name="tickets_ticket_queue_claim"),
            *super().get_urls(),  # type: ignore[misc]
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        if isinstance(response, TemplateResponse) and response.context_data and "cl" in response.context_data:
            response.context_data.update(self.queue_context(request))
        return response

    def queue_context(self, request: HttpRequest) -> dict[str, Any]:
        query = request.GET.urlencode()
        return {
            "queue_tabs": queue_tabs(request),
            "queue_view": view_of(request.GET),
            "queue_poll_url": reverse("admin:tickets_ticket_queue") + (f"?{query}" if query else ""),
            # How often the page asks for fresh counts and rows (queue.js keeps the agent's place meanwhile).
            "queue_poll_seconds": max(1, int(getattr(settings, "KEFU_QUEUE_POLL_SECONDS", 20))),
            # queue.js puts the selected row's id in place of 0 (the claim, the ticket page).
            "queue_claim_url": reverse("admin:tickets_ticket_queue_claim", args=[0]),
            "queue_here": request.get_full_path(),
            "queue_may_act": may_act(request),
        }

    def get_preserved_filters(self, request: HttpRequest) -> str:
        """The fragment's row links keep the list's filters, as the page's own do (the fragment is not the
        changelist URL Django recognises)."""
        match = request.resolver_match
        if match is not None and match.url_name == "tickets_ticket_queue":
            query = request.GET.urlencode()
            return urlencode({"_changelist_filters": query}) if query else ""
        return super().get_preserved_filters(request)  # type: ignore[misc]

    # -- the views ----------------------------------------------------------------------------------------

    def queue_fragment_view(self, request: HttpRequest) -> HttpResponse:
        """The tabs, rows and pages for the page's poll (htmx swaps them out of band), with the page's own query
        (view, filters, search, sort, page). 204 (nothing to swap) when the query no longer fits, e.g. the page
        it was on is gone; the next full load shows why."""
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        response = self.changelist_view(request)
        if not isinstance(response, TemplateResponse):
            return HttpResponse(status=204)
        response.template_name = self.fragment_template
        response["Cache-Control"] = "no-store"
        return response

    def next_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._neighbour_view(request, object_id, step=1)

    def previous_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self._neighbour_view(request, object_id, step=-1)

    def _neighbour_view(self, request: HttpRequest, object_id: str, *, step: int) -> HttpResponse:
        """Redirect to the ticket after (before) ``object_id`` in the list ``?_changelist_filters=`` describes (the
        view, filters, search and sort the agent opened the ticket from), keeping that list for the next move."""
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        filters = request.GET.get("_changelist_filters", "")
        keep = f"?{urlencode({'_changelist_filters': filters})}" if filters else ""
        changelist = reverse("admin:tickets_ticket_changelist") + (f"?{filters}" if filters else "")
        current = (
            Ticket.objects.filter(pk=object_id).only("pk", "step_due_at", "priority").first()
            if object_id.isdigit()
            else None
        )
        if current is None:
            return HttpResponseRedirect(changelist)
        query = QueryDict(filters, mutable=True)
        query.pop(PAGE_VAR, None)  # the whole view, not the page it was on
        listing = copy.copy(request)
        listing.GET = query  # type: ignore[assignment]  # stubs: the request's own GET is immutable
        try:
            cl = self.get_changelist_instance(listing)  # type: ignore[attr-defined]
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:tickets_ticket_changelist"))
        target = neighbour(cl.queryset, current, step=step, default_order=ORDER_VAR not in query)
        if target is None:
            messages.info(
                request,
                _("This is the last ticket in this view.") if step > 0 else _("This is the first ticket in this view."),
            )
            if visible_tickets(request).filter(pk=current.pk).exists():
                return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[current.pk]) + keep)
            return HttpResponseRedirect(changelist)
        return HttpResponseRedirect(reverse("admin:tickets_ticket_change", args=[target]) + keep)

    def queue_claim_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The ticket page's claim (same checks, service and messages), then back to the list it came from."""
        response = self.claim_view(request, object_id)  # type: ignore[attr-defined]
        back = request.POST.get("next", "")
        if response.status_code == 302 and url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(back)
        return response
