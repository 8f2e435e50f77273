"""The one path every ticket change takes: lock, check, transition, route, save, record.

``ticket_transition`` is what every use-case service in this package calls, and so what the API, the
admin, Celery tasks and commands run. In one ``transaction.atomic()`` it:

1. locks the ticket row (``SELECT … FOR UPDATE`` on the ticket and its kind's row) and refuses with
   ``TicketChanged`` when the caller's copy is stale (its ``version`` is behind): the optimistic check;
2. checks the transition exists from the current state, the actor may run it, and its rules hold;
3. runs the django-fsm transition (in memory), applies the new step's owner and clock;
4. bumps ``version`` and writes the changed fields where the row is still in the old state (as django-fsm's
   ``ConcurrentTransitionMixin`` does) with the timeline event, in one statement on PostgreSQL;
5. publishes the event (``event_published``: ``tickets.signals.ticket_event_recorded``:
   the notification outbox subscribes to it), then runs the kind's entry hooks (a refund reserved on entering
   ``refund_pending``) and the caller's ``after`` callback, still inside the transaction.

Lock order, everywhere: ticket row first, then order lines ordered by primary key, then routing's
department and staff rows (``step_apply``); see ``order_lines_lock``.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.known_rows import rows_known_of
from kefu.core.writes import Changed, NewRows, rows_write
from routing.config import BUYER_TIER, CHANNEL, REASON_CODE
from routing.services import TicketFacts, assignee_pick, facts_wanted, step_route
from tickets.actors import Actor, ActorKind
from tickets.clock import platform_deadline_margin, step_clock
from tickets.errors import NotPermitted, TicketChanged, TransitionNotAllowed
from tickets.locks import order_lines_lock, ticket_lock
from tickets.models import EventType, Ticket, TicketEvent, WaitingOn
from tickets.selectors import ticket_workload
from tickets.signals import ticket_event_recorded
from tickets.workflows.steps import BUYER, Rule

T = TypeVar("T", bound=Ticket)

# Called with the locked ticket after the transition and its event, inside the transaction.
EntryHook = Callable[[Ticket, Actor], None]
_entry_hooks: dict[tuple[str, str], list[EntryHook]] = {}


def on_enter(kind: str, state: str) -> Callable[[EntryHook], EntryHook]:
    """Register a side effect every path into ``state`` must have (e.g. reserving the refund)."""

    def register(hook: EntryHook) -> EntryHook:
        _entry_hooks.setdefault((kind, state), []).append(hook)
        return hook

    return register


def _stored_values(ticket: Ticket) -> dict[str, Any]:
    """The ticket's column values (its kind's table and the common one), by field name."""
    return {f.name: getattr(ticket, f.attname) for f in ticket._meta.concrete_fields if not f.primary_key}


def _changes(ticket: Ticket, changed: list[str], from_state: str) -> list[Changed]:
    """The changed fields of a ticket as the UPDATE of each of its tables (the common one, its kind's); the common
    one only where the row is still in ``from_state``."""
    by_table: dict[type[Model], list[str]] = {}
    for name in changed:
        by_table.setdefault(ticket._meta.get_field(name).model, []).append(name)
    return [
        Changed(table, ticket, names, expected={"state": from_state} if table is Ticket else {})
        for table, names in by_table.items()
    ]


def transition_spec(ticket: Ticket, name: str) -> Any:
    """The django-fsm transition called ``name`` on the ticket's kind, or a clear refusal."""
    method = getattr(type(ticket), name, None)
    meta = getattr(method, "_django_fsm", None)
    if meta is None:
        raise TransitionNotAllowed(
            _("'%(transition)s' is not an action of a %(kind)s ticket.")
            % {"transition": name, "kind": ticket.get_kind_display()},
            transition=name,
        )
    return meta


@functools.cache
def _takes_reason(model: type[Ticket], name: str) -> bool:
    """Whether the transition method checks the reason itself (a refusal must say why)."""
    return "reason" in inspect.signature(getattr(model, name)).parameters


def _check_may_run(ticket: Ticket, name: str, actor: Actor) -> None:
    meta = transition_spec(ticket, name)
    state = ticket.state
    if not meta.has_transition(state):
        sources = sorted(str(s) for s in meta.transitions)
        raise TransitionNotAllowed(
            _("Ticket %(number)s is %(state)s (%(code)s); '%(transition)s' is only possible from: %(sources)s.")
            % {
                "number": ticket.number,
                "state": ticket.state_label(),
                "code": state,
                "transition": name,
                "sources": ", ".join(sources),
            },
            transition=name,
            current_state=state,
        )
    spec = meta.get_transition(state)
    if not spec.has_perm(ticket, actor):
        # A permission may say why itself (maker-checker: tickets.workflows.steps.SecondPerson).
        refusal = getattr(spec.permission, "refusal", None)
        message = refusal(ticket, actor) if refusal is not None else None
        roles = ", ".join(sorted(getattr(spec.permission, "roles", ()))) or _("nobody")
        raise NotPermitted(
            message
            or _("%(actor)s may not '%(transition)s' ticket %(number)s; it is for: %(roles)s.")
            % {"actor": actor.name, "transition": name, "number": ticket.number, "roles": roles},
            transition=name,
        )
    for condition in spec.conditions:
        if not condition(ticket):
            if isinstance(condition, Rule):
                message = condition.message(ticket)
            else:
                message = _("'%(transition)s' is not possible now.") % {"transition": name}
            raise TransitionNotAllowed(message, transition=name, current_state=state)


def route_facts(ticket: Ticket) -> TicketFacts:
    """What routing matches on for the ticket entering its current state (before ``step_apply`` moves it).

    The shop's channel, the buyer's tier and the reason's code are read only when an active rule or policy looks
    at them (routing.services.facts_wanted): otherwise routing a step reads none of those rows.
    """
    wanted = facts_wanted()
    amount = getattr(ticket, "requested_amount", None)
    if amount is None:
        amount = getattr(ticket, "compensation_amount", None)
    return TicketFacts(
        kind=ticket.kind,
        state=ticket.state,
        shop_id=ticket.shop_id,
        department=ticket.department,
        reason_code=ticket.reason_code if REASON_CODE in wanted else None,
        complaint_category=getattr(ticket, "category", None),
        channel=ticket.shop.channel if CHANNEL in wanted else None,
        buyer_tier=ticket.buyer.tier if BUYER_TIER in wanted else None,
        amount=amount,
    )


def step_apply(ticket: Ticket, *, now: datetime) -> None:
    """Set who must act, who of them, and the clock for the ticket's current state (in memory).

    Routing rules, deadline policies, overflow and assignment come from routing.services.step_route and
    assignee_pick (which locks the candidates' rows), given the ticket's facts and the ticket table's workload.
    The assignee is kept while the same department goes on working the ticket; a hand-off to another department
    picks someone there (or nobody).
    """
    step = ticket.STEPS[ticket.state]
    route = step_route(route_facts(ticket), owner=step.owner, deadline=step.deadline, workload=ticket_workload)
    previous_department = ticket.department
    ticket.department = route.department
    ticket.step_department = route.department or ""
    if not step.owner:
        ticket.waiting_on = WaitingOn.NOBODY
    elif step.owner == BUYER:
        ticket.waiting_on = WaitingOn.BUYER
    else:
        ticket.waiting_on = WaitingOn.MERCHANT
    if route.priority is not None and route.priority > ticket.priority:
        ticket.priority = route.priority
    ticket.step_started_at = now
    # Business time of the department's calendar for an internal SLA, calendar time otherwise (tickets.clock).
    ticket.step_due_at, ticket.warn_at = step_clock(
        ticket, department=route.department, start=now, deadline=route.deadline, warn_percent=route.warn_percent
    )
    if ticket.platform and step.owner == BUYER:
        # The marketplace times the buyer (and closes the case when they do not act); kefu neither expires nor
        # escalates a wait that is not the merchant's.
        ticket.step_due_at = ticket.warn_at = None
    elif step.owner and step.owner != BUYER:
        platform_clock_apply(ticket, now=now)
    ticket.due_at = ticket.step_due_at
    ticket.sla_breached = False
    ticket.escalation_level = 0
    # Every end step closes the ticket, also a closed complaint that may still be reopened (not final, but
    # closed until then); a step with an owner (e.g. after a reopen) is open again.
    ticket.closed_at = None if step.owner else now
    if ticket.department is None:
        ticket.assignee = None
    elif ticket.department != previous_department or ticket.assignee_id is None:
        ticket.assignee = assignee_pick(ticket.department, workload=ticket_workload)


def platform_clock_apply(ticket: Ticket, *, now: datetime) -> None:
    """Put a merchant step's deadline before the marketplace's (in memory; the one place this is decided).

    The step's deadline becomes the earlier of kefu's own (routing's policy) and the platform's deadline minus
    ``KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES``, never before ``now``; the warning goes out one margin before that
    (at once when there is no time left), so the staff hear of it before the platform acts on its own.
    """
    if ticket.platform_due_at is None:
        return
    margin = platform_deadline_margin()
    limit = max(now, ticket.platform_due_at - margin)
    if ticket.step_due_at is None or limit < ticket.step_due_at:
        ticket.step_due_at = limit
        warn = max(now, limit - margin)
        ticket.warn_at = min(ticket.warn_at, warn) if ticket.warn_at is not None else warn


def step_figures(ticket: Ticket, *, now: datetime) -> dict[str, Any]:
    """The figures of the step that ends now (read before ``step_apply`` starts the next one)."""
    met = None
    if ticket.step_due_at is not None:
        met = now <= ticket.step_due_at and not ticket.sla_breached
    return {
        "step_state": ticket.state,
        "step_department": ticket.step_department,
        "step_started_at": ticket.step_started_at,
        "step_due_at": ticket.step_due_at,
        "step_seconds": max(0, int((now - ticket.step_started_at).total_seconds())),
        "step_met": met,
    }


def event_record(*, ticket: Ticket, actor: Actor, event_type: str, **details: Any) -> TicketEvent:
    """Append one entry to the ticket's timeline (caller holds the transaction) and publish it as the domain
    event ``ticket_event_recorded`` (tickets.signals): its receivers (the notification outbox) write in the same
    transaction, and one that raises rolls the change back. ``details``: the entry's other fields (``event_new``).
    """
    event = event_new(ticket=ticket, actor=actor, event_type=event_type, **details)
    event.save()
    event_published(ticket=ticket, event=event)
    return event


def event_new(
    *,
    ticket: Ticket,
    actor: Actor,
    event_type: str,
    transition: str = "",
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    public: bool = True,
    payload: Mapping[str, Any] | None = None,
    at: datetime | None = None,
    step: Mapping[str, Any] | None = None,
) -> TicketEvent:
    """A timeline entry, not yet written: ``event_record`` writes and publishes it; an opening writes it with the
    ticket's rows (one statement) and then publishes it with ``event_published``."""
    return TicketEvent(
        **(step or {}),
        ticket_id=ticket.pk,
        event_type=event_type,
        created_at=at or timezone.now(),
        actor_kind=actor.kind,
        actor_user=actor.user if actor.kind == ActorKind.STAFF else None,
        actor_name=actor.name[:200],
        transition=transition,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        public=public,
        payload=dict(payload or {}),
    )


def event_published(*, ticket: Ticket, event: TicketEvent) -> None:
    """A written timeline entry: known to the ticket (its answer shows it) and sent as ``ticket_event_recorded``."""
    known = rows_known_of(ticket, "events")
    if known is not None:
        known.append(event)
    ticket_event_recorded.send(sender=TicketEvent, event=event, ticket=ticket)


def assignment_record(*, ticket: Ticket, previous: Any, at: datetime | None = None) -> TicketEvent:
    """Note an automatic (routing) assignment on the timeline."""
    return event_record(
        ticket=ticket,
        actor=Actor.system("routing"),
        event_type=EventType.ASSIGNMENT,
        public=False,
        payload={
            "assignee": ticket.assignee.get_username() if ticket.assignee else None,
            "previous": previous.get_username() if previous else None,
            "department": ticket.department,
        },
        at=at,
    )


def ticket_transition(
    *,
    ticket: T,
    actor: Actor,
    transition: str,
    reason: str = "",
    params: Mapping[str, Any] | None = None,
    prepare: Callable[[T], Mapping[str, Any]] | None = None,
    after: Callable[[T], None] | None = None,
    payload: Mapping[str, Any] | None = None,
    check_version: bool = True,
    held: bool = False,
) -> T:
    """Run one transition of the ticket's state machine as ``actor``; return the updated ticket.

    ``params`` go to the transition method (a method with a ``reason`` parameter receives ``reason`` too).
    ``prepare`` runs after the checks, before the transition, and returns more params (e.g. a shipment it
    creates). Raises ``TransitionNotAllowed``/``TicketChanged`` (409), ``NotPermitted`` (403) or a
    validation error (400); then nothing is written.

    ``held``: the caller read ``ticket`` under its row lock in its current transaction (the deadline sweep), so
    it is neither locked nor read again, and no savepoint is taken: a refusal leaves the caller's transaction
    to be rolled back (``atomic`` does it when the error leaves it), which then has written nothing of this.
    """
    with transaction.atomic(savepoint=not held):
        locked: T = (
            copy.copy(ticket) if held else ticket_lock(ticket=ticket, check_version=check_version)  # type: ignore[assignment]
        )
        _check_may_run(locked, transition, actor)
        kwargs = dict(params or {})
        if _takes_reason(type(locked), transition):
            kwargs["reason"] = reason
        if prepare is not None:
            kwargs.update(prepare(locked))
        from_state = locked.state
        before = _stored_values(locked)
        old_department = locked.department
        old_assignee = locked.assignee
        now = timezone.now()
        ended_step = step_figures(locked, now=now)
        getattr(locked, transition)(**kwargs)
        if after is not None or (locked.kind, locked.state) in _entry_hooks:
            order_lines_lock(ticket=locked)
        step_apply(locked, now=now)
        locked.version += 1
        locked.updated_at = now
        changed = [name for name, value in _stored_values(locked).items() if value != before[name]]
        event = event_new(
            ticket=locked,
            actor=actor,
            event_type=EventType.TRANSITION,
            transition=transition,
            from_state=from_state,
            to_state=locked.state,
            reason=reason,
            payload={
                **(payload or {}),
                "department": locked.department,
                "previous_department": old_department,
                "due_at": locked.due_at,
            },
            at=now,
            step=ended_step,
        )
        # Only what changed (a transition that leaves the kind's own fields alone writes one table, not two), where
        # the row is still in the state the transition started from (django-fsm's ConcurrentTransitionMixin check),
        # and the timeline entry: one statement on PostgreSQL (kefu.core.writes).
        *matched, _event_written = rows_write(*_changes(locked, changed, from_state), NewRows(TicketEvent, [event]))
        if 0 in matched:  # only reachable where the row lock is a no-op (SQLite)
            raise TicketChanged(
                _("Ticket %(number)s was changed at the same moment; try again.") % {"number": locked.number}
            )
        locked._update_initial_state()  # what ConcurrentTransitionMixin.save does: the state saved is the one to match
        event_published(ticket=locked, event=event)
        if locked.assignee != old_assignee:
            assignment_record(ticket=locked, previous=old_assignee, at=now)
        for hook in _entry_hooks.get((locked.kind, locked.state), ()):
            hook(locked, actor)
        if after is not None:
            after(locked)
    return locked
