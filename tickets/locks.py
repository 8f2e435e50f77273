"""Every row lock kefu takes on tickets and order lines, in one place (in the style of Saleor's
``order/lock_objects.py``): services lock through these functions, never with their own ``select_for_update``.

Rows are locked in one global order, so two transactions never wait on each other in a circle:

1. the ticket (its common row and its kind's, in one statement: ``ticket_lock``);
2. the order's lines, ordered by primary key (``order_lines_lock``, ``order_lines_locked``);
3. routing's department and staff-member rows, ordered by primary key (``routing.services.AssigneePicker``).

Each must run inside ``transaction.atomic()``; the locks last until it ends. No network call may happen while
they are held (the outbox and the refund task run after the commit).
"""

from __future__ import annotations

import copy
import functools

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from kefu.core.prepared import PreparedQuery
from orders.models import Order, OrderLine
from tickets.errors import TicketChanged, TicketNotFound
from tickets.models import Ticket
from tickets.workflows import model_for_kind


def ticket_lock(*, ticket: Ticket, check_version: bool = True) -> Ticket:
    """Return the ticket as its kind, locked for the rest of the transaction.

    Must run inside ``transaction.atomic()``. With ``check_version`` the caller's copy must be current.

    Every write to a ticket's columns that matters to a transition bumps ``version`` (transitions, assignment,
    escalation, a failed refund's priority). So when the caller's copy is of the ticket's kind and its version
    is the locked row's, the row is not read again: the lock takes the version only, and the caller gets an
    independent copy of its own (a refused transition leaves the caller's object as it was). Otherwise — an
    older version (refused), no version check (the sweep, refunds: they act on what is there now) — the row is
    read under the lock.
    """
    model = model_for_kind(ticket.kind)
    if check_version and type(ticket) is model:
        # The kind's row joined: the same rows locked as the full read below takes (the common and the kind's),
        # so two transactions on one ticket always queue on the same locks (no deadlock between the two forms).
        current = _locked_version(model).rows(pk=ticket.pk)
        if not current:
            raise TicketNotFound(_("Ticket %(id)s does not exist.") % {"id": ticket.pk})
        if current[0][0] == ticket.version:
            return copy.copy(ticket)
    try:
        locked = model.objects.select_for_update().get(pk=ticket.pk)
    except model.DoesNotExist as exc:
        raise TicketNotFound(_("Ticket %(id)s does not exist.") % {"id": ticket.pk}) from exc
    _carry_relations(ticket, locked)
    if check_version and locked.version != ticket.version:
        raise TicketChanged(
            _(
                "Ticket %(number)s was changed by someone else since you opened it (now %(state)s); "
                "reload it and try again."
            )
            % {"number": locked.number, "state": locked.state_label()},
            current_state=locked.state,
            current_version=locked.version,
        )
    return locked


@functools.cache
def _locked_version(model: type[Ticket]) -> PreparedQuery[Ticket]:
    """The version of a ticket of ``model``'s kind, read under the lock of every change made on a current copy:
    composed once per kind (kefu.core.prepared). By primary key, at most one row: no ORDER BY and LIMIT."""
    return PreparedQuery(
        lambda pk: model.objects.select_for_update().filter(pk=pk).values_list("version"), pk=-7_301_002
    )


# Relations a locked copy takes over from the caller's copy when they point at the same rows: the shop, order
# and buyer never change, and the assignee only through a service that sets the new one on the locked copy.
_CARRIED = ("shop", "order", "buyer", "assignee")


def _carry_relations(ticket: Ticket, locked: Ticket) -> None:
    for name in _CARRIED:
        field = Ticket._meta.get_field(name)
        if field.is_cached(ticket) and getattr(ticket, field.attname) == getattr(locked, field.attname):
            field.set_cached_value(locked, field.get_cached_value(ticket))


def order_lines_lock(*, ticket: Ticket) -> None:
    """Lock all lines of the ticket's order (ordered by pk) for the rest of the transaction.

    Entry hooks and ``after`` callbacks lock order lines (a refund reserved, a linked ticket opened), and
    ``step_apply`` locks routing's department and staff rows; opening a ticket locks the lines first, then
    routes. So a transition that will touch the lines takes them before routing does, in the same order
    as opening: otherwise an approval into ``refund_pending`` and an opening on the same order deadlock.
    """
    list(OrderLine.objects.select_for_update().filter(order_id=ticket.order_id).order_by("pk").values_list("pk"))


def _lines_with_a_ticket_id(order_id: int) -> QuerySet[OrderLine]:
    """The order's lines to lock, ordered by pk; on PostgreSQL each row also carries ``ticket_id_taken``, the next
    value of the ticket table's id sequence, taken once for the statement (an uncorrelated subquery is one
    InitPlan): only openings lock the lines this way, and the one they open takes that id (``ticket_id_taken``),
    which saves them a round trip to the sequence."""
    lines = OrderLine.objects.select_for_update().filter(order_id=order_id).order_by("pk")
    if connection.vendor != "postgresql":
        return lines
    taken = RawSQL("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (Ticket._meta.db_table,))
    return lines.annotate(ticket_id_taken=taken)


# Every opening locks its order's lines: composed once (kefu.core.prepared), not on each opening.
_locked_lines = PreparedQuery(_lines_with_a_ticket_id, order_id=-7_301_001)


def order_lines_locked(order: Order) -> dict[str, OrderLine]:
    """The order's lines by SKU, locked (ordered by pk) for the transaction; for an opening (the only caller),
    on PostgreSQL each line also carries the id its ticket will take (``ticket_id_taken``: see
    ``tickets.services.opening``).

    What other tickets hold of them must be read after this statement, not in it: under READ COMMITTED a
    statement that waited for the lock still reads everything else as it was when it began, so the tickets
    the lock holder just committed would be missed (six requests for the last item made six tickets).
    """
    return {line.sku: line for line in _locked_lines.instances(order_id=order.pk)}
