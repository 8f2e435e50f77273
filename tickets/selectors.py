"""Reads of tickets: one place that chooses the joins, so lists and pages stay at a bounded query count."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.db.models import Count, DateTimeField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from kefu.core.prepared import PreparedQuery
from kefu.core.vocabulary import STATES_BY_KIND
from orders.models import ZERO, Order, OrderLine, Shop
from tickets.actors import DEPARTMENT_ROLES, Actor, Role
from tickets.errors import TicketNotFound
from tickets.models import Kind, LogisticsTicket, Ticket, TicketEvent, TicketLine
from tickets.workflows import model_for_kind

# Tickets in these states no longer hold the items they concern (nothing was or will be returned).
RELEASED_STATES = ("closed", "cancelled")


def ticket_get(*, pk: int | None = None, number: str | None = None) -> Ticket:
    """The ticket as its kind's subclass, with what its page shows joined in."""
    lookup: dict[str, int | str | None] = {"pk": pk} if pk is not None else {"number": number}
    base = Ticket.objects.filter(**lookup).values_list("kind", flat=True).first()
    if base is None:
        raise TicketNotFound(f"Ticket {number or pk} does not exist.")
    model = model_for_kind(base)
    return model.objects.select_related("shop", "order", "buyer", "reason", "assignee").get(**lookup)


def ticket_list() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("shop", "order", "buyer", "assignee").order_by("due_at", "-priority", "pk")


def ticket_timeline(*, ticket: Ticket, public_only: bool = False) -> QuerySet[TicketEvent]:
    events = TicketEvent.objects.filter(ticket_id=ticket.pk).select_related("actor_user").order_by("created_at", "pk")
    return events.filter(public=True) if public_only else events


def ticket_replayed_state(*, ticket: Ticket) -> str | None:
    """The state the timeline leads to: the created event's state, then each transition's target.

    Returns None when the timeline is inconsistent (a transition that does not start where the last ended).
    """
    state: str | None = None
    for event in TicketEvent.objects.filter(ticket_id=ticket.pk).order_by("created_at", "pk"):
        if event.event_type == "created":
            state = event.to_state
        elif event.event_type == "transition":
            if event.from_state != state:
                return None
            state = event.to_state
    return state


# What returns and exchanges not released hold of an order's lines, as (order line id, quantity) rows: read by
# every opening of a return or an exchange, so composed once (kefu.core.prepared).
_held_rows = PreparedQuery(
    lambda order_id: (
        TicketLine.objects.filter(order_line__order_id=order_id, ticket__kind__in=(Kind.RETURN, Kind.EXCHANGE))
        .exclude(ticket__state__in=RELEASED_STATES)
        .order_by()
        .values_list("order_line_id", "quantity")
    ),
    order_id=-7_301_003,
)


def returnable_quantities(order: Order, lines: Iterable[OrderLine] | None = None) -> dict[int, int]:
    """Per order line id, how many items can still be asked back (returns and exchanges not released).

    ``lines`` are the order's lines when the caller has them (e.g. locked), else they are read. Opening reads
    this after locking the lines, in a statement of its own (see tickets.locks.order_lines_locked).
    """
    lines = list(order.lines.all() if lines is None else lines)
    taken: dict[int, int] = defaultdict(int)
    for line_id, quantity in _held_rows.rows(order_id=order.pk):  # a handful per order: summed here
        taken[line_id] += quantity
    return {line.pk: line.quantity - taken.get(line.pk, 0) for line in lines}


def ticket_line_offsets(lines: Sequence[TicketLine]) -> list[int]:
    """Per ticket line, how many units of its order line the tickets before it hold (returns and exchanges not
    released, in the order their lines were written); an unsaved line (a ticket being opened) comes after all.

    One query. The offset picks which of the line's units a ticket's paid share is made of
    (``TicketLine.paid_share``): tickets holding a line together take disjoint units, so their shares never sum
    above what was paid for it. Callers that act on the figures hold the order lines' row locks.
    """
    order_line_ids = {tl.order_line_id for tl in lines}
    if not order_line_ids:
        return []
    # A ticket being opened: lines_resolve counted what the others hold (under the lines' locks) just before.
    known: list[int | None] = [getattr(tl.order_line, "held_quantity", None) if tl.pk is None else None for tl in lines]
    if all(held is not None for held in known):
        return [held for held in known if held is not None]
    held = list(
        TicketLine.objects.filter(order_line_id__in=order_line_ids, ticket__kind__in=(Kind.RETURN, Kind.EXCHANGE))
        .exclude(ticket__state__in=RELEASED_STATES)
        .order_by()
        .values_list("pk", "order_line_id", "quantity")
    )
    return [
        sum(
            quantity
            for pk, line_id, quantity in held
            if line_id == tl.order_line_id and pk != tl.pk and (tl.pk is None or pk < tl.pk)
        )
        for tl in lines
    ]


def ticket_line_shares(lines: Sequence[TicketLine]) -> list[Decimal]:
    """Per ticket line (with its ``order_line`` loaded), what the buyer paid for its units (one query)."""
    offsets = ticket_line_offsets(lines)
    return [tl.paid_share(tl.order_line, offset=offset) for tl, offset in zip(lines, offsets, strict=True)]


def ticket_refundable_amount(*, lines: Iterable[TicketLine]) -> Decimal:
    """What can still be refunded for these ticket lines.

    Per line: the paid share of the ticket's units (``ticket_line_shares``) minus what this ticket already
    refunded on it, and never more than the order line's own unrefunded amount. Callers that act on the figure
    hold the order lines' row locks.
    """
    lines = list(lines)
    total = ZERO
    for tl, share in zip(lines, ticket_line_shares(lines), strict=True):
        line: OrderLine = tl.order_line
        total += max(ZERO, min(share - tl.refunded_amount, line.paid_amount - line.refunded_amount))
    return total


def ticket_lines(*, ticket: Ticket) -> QuerySet[TicketLine]:
    return TicketLine.objects.filter(ticket_id=ticket.pk).select_related("order_line").order_by("order_line_id")


def order_compensation_room(*, ticket: Ticket) -> Decimal:
    """What may still be paid as compensation on the ticket's order: what its lines were paid, less what was
    refunded on them and the compensations proposed or granted on the order's other logistics tickets."""
    lines = OrderLine.objects.filter(order_id=ticket.order_id).aggregate(
        paid=Coalesce(Sum("paid_amount"), ZERO), refunded=Coalesce(Sum("refunded_amount"), ZERO)
    )
    compensated = (
        LogisticsTicket.objects.filter(order_id=ticket.order_id, outcome="compensated")
        .exclude(pk=ticket.pk)
        .aggregate(total=Coalesce(Sum("compensation_amount"), ZERO))["total"]
    )
    return max(ZERO, lines["paid"] - lines["refunded"] - compensated).quantize(Decimal("0.01"))


def ticket_get_kind(*, pk: int) -> type[Ticket]:
    kind = Ticket.objects.filter(pk=pk).values_list("kind", flat=True).first()
    if kind is None:
        raise TicketNotFound(f"Ticket {pk} does not exist.")
    return model_for_kind(kind)


# -- what staff see (the staff API and the admin share these) -----------------------------------------------

FAR_FUTURE = "9999-12-31T00:00:00Z"

KIND_RELATED = {
    "return": ("return_shipment",),
    "exchange": ("return_shipment", "replacement_shipment"),
    "complaint": (),
    "logistics": ("shipment",),
}
STAFF_RELATED = ("shop", "order", "buyer", "assignee")


def staff_scope(*, actor: Actor) -> Q:
    """Supervisors see every ticket; others the tickets their departments must act on now, and those escalated
    away from them that they still handle:

    - a ticket the sweep escalated to supervisors stays with the department whose step ran out
      (``step_department``, kept by the escalation);
    - a ticket in an escalation state (a complaint ``escalated``: the supervisors' step) stays with the
      departments that may still act on it there (operations may propose the resolution).
    """
    if actor.is_supervisor:
        return Q()
    departments = sorted(actor.departments)
    scope = Q(department__in=departments) | Q(escalation_level__gt=0, step_department__in=departments)
    for kind, states in sorted(_escalated_handled_by().items()):
        mine = sorted({state for state, handlers in states.items() if handlers & actor.departments})
        if mine:
            scope |= Q(kind=kind, state__in=mine)
    return scope


@functools.cache
def _escalated_handled_by() -> dict[str, dict[str, frozenset[str]]]:
    """Per kind, the states whose step is the supervisors' with the other departments whose role may act in
    them (from the state machines' declared permissions)."""
    from tickets.actions import actions_of  # the declarations read every kind's model

    found: dict[str, dict[str, frozenset[str]]] = {}
    others = {role.value for role in DEPARTMENT_ROLES} - {Role.SUPERVISORS.value}
    for kind in STATES_BY_KIND:
        steps = model_for_kind(kind).STEPS
        for action in actions_of(kind):
            for source in action.sources:
                step = steps.get(source)
                if step is not None and step.owner == Role.SUPERVISORS.value:
                    handlers = frozenset(action.roles) & others
                    if handlers:
                        states = found.setdefault(str(kind), {})
                        states[source] = states.get(source, frozenset()) | handlers
    return found


def staff_tickets(*, actor: Actor) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(staff_scope(actor=actor))
    return tickets.annotate(queue_due=Coalesce("due_at", Value(FAR_FUTURE, output_field=DateTimeField())))


def tickets_as_kinds(
    tickets: Sequence[Ticket | dict],
    *,
    related: Sequence[str] = STAFF_RELATED,
    deferred: Sequence[str] = (),
    shop: Shop | None = None,
    read: Callable[[type[Ticket], list[int]], Iterable[Ticket]] | None = None,
) -> list[Ticket]:
    """The same tickets, same order, loaded as their kinds (one query per kind present).

    ``tickets`` are tickets or rows with their ``id`` and ``kind``. With ``shop`` (the storefront's, which every
    ticket belongs to) the shop is attached, not joined; ``deferred`` columns of the joined rows are not read.
    ``read(model, ids)``, when given, reads one kind's tickets instead of the queryset built here (a statement
    composed once, for instance).
    """
    keys = [(t["id"], t["kind"]) if isinstance(t, dict) else (t.pk, t.kind) for t in tickets]
    ids_by_kind: dict[str, list[int]] = defaultdict(list)
    for pk, kind in keys:
        ids_by_kind[kind].append(pk)
    loaded: dict[int, Ticket] = {}
    for kind, ids in ids_by_kind.items():
        model = model_for_kind(kind)
        found = (
            read(model, ids)
            if read is not None
            else model.objects.select_related(*related, *KIND_RELATED[kind]).defer(*deferred).filter(pk__in=ids)
        )
        for obj in found:
            if shop is not None:
                obj.shop = shop
            loaded[obj.pk] = obj
    return [loaded[pk] for pk, _kind in keys if pk in loaded]


class TicketWorkload:
    """routing.services.Workload over the ticket table: what routing's overflow and assignment weigh.

    The counts per member go through ``ticket_assignee_open_idx``; the backlog through ``ticket_queue_idx``.
    Called inside the routing transaction (routing.services.assignee_pick holds the members' row locks).
    """

    def unassigned_backlog(self, department: str) -> int:
        return Ticket.objects.filter(department=department, assignee__isnull=True, closed_at__isnull=True).count()

    def open_ticket_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        rows = (
            Ticket.objects.filter(assignee_id__in=user_ids, closed_at__isnull=True)
            .values("assignee_id")
            .annotate(n=Count("pk"))
        )
        return {row["assignee_id"]: row["n"] for row in rows}

    def open_department_counts(self, department: str, user_ids: Sequence[int]) -> dict[int, int]:
        rows = (
            Ticket.objects.filter(assignee_id__in=user_ids, closed_at__isnull=True, department=department)
            .values("assignee_id")
            .annotate(n=Count("pk"))
        )
        return {row["assignee_id"]: row["n"] for row in rows}


ticket_workload = TicketWorkload()
