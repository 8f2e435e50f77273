"""The simulation's desk: each step routed and timed by the code that routes and times real tickets.

For a step of a stream's path, :class:`RealDesk` describes the stream's typical ticket as routing's
:class:`~routing.services.TicketFacts` (its kind, the state entered, its shop, channel, reason, category, buyer
tier and amount, and the department that held it before), asks :func:`routing.services.step_route` for the
department, priority and time allowed (routing rules first match, deadline policies, overflow to a backup pool
measured against the simulated queue), and :func:`tickets.clock.step_clock` for the deadline (business hours of
the department's calendar for an internal SLA, calendar time otherwise), on an unsaved ticket of the kind.

Reads routing's configuration snapshot and the plan's shops; writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from kefu.core.vocabulary import Priority
from orders.models import Shop
from routing.calendars import department_schedule
from routing.config import routing_config
from routing.services import TicketFacts, step_route
from surge.simulation.engine import Backlog
from surge.simulation.plan import Plan, PlanError, Stream
from tickets.clock import step_clock
from tickets.models import Ticket
from tickets.workflows import model_for_kind


class _Queues:
    """routing.services.Workload over the simulated queues: overflow compares their unassigned tickets."""

    def __init__(self, backlog: Backlog) -> None:
        self.backlog = backlog
        self.asked = False

    def unassigned_backlog(self, department: str) -> int:
        self.asked = True
        return self.backlog(department)

    def open_ticket_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        return {}

    def open_department_counts(self, department: str, user_ids: Sequence[int]) -> dict[int, int]:
        return {}  # reinforcements' caps: the simulation works each department as one queue, nobody by name


def shop_find(reference: str) -> Shop:
    """A plan's shop: its code, or its id."""
    shop = Shop.objects.filter(code=reference).first()
    if shop is None and reference.isdigit():
        shop = Shop.objects.filter(pk=int(reference)).first()
    if shop is None:
        raise PlanError(f"shop: no shop with the code or id '{reference}'.")
    return shop


class RealDesk:
    """Routing and deadlines of the plan's streams (surge.simulation.engine.Desk)."""

    def __init__(self, plan: Plan) -> None:
        self.start = plan.start
        self.facts: list[list[TicketFacts]] = []
        self.owners: list[list[tuple[str, timedelta | None]]] = []
        self.tickets: list[list[Ticket]] = []
        for stream in plan.streams:
            self._add(stream, plan.path_of(stream))
        # Routes that did not look at the queues (no overflow on the way) are the same every time.
        self._routes: dict[tuple[int, int, str | None], tuple[str | None, timedelta | None, int, int]] = {}
        self._around_the_clock: dict[str, bool] = {}  # department → no calendar (read once per play)

    def _add(self, stream: Stream, path: tuple[str, ...]) -> None:
        model = model_for_kind(stream.kind)
        shop_id, channel = 0, stream.channel or None
        if stream.shop:
            shop = shop_find(stream.shop)
            shop_id, channel = shop.pk, stream.channel or shop.channel
        facts, owners, tickets = [], [], []
        for state in path:
            step = model.STEPS.get(state)
            if step is None:
                raise PlanError(
                    f"path: '{state}' is not a state of a {stream.kind} ticket with an owner "
                    f"(one of {', '.join(model.STEPS)})."
                )
            facts.append(
                TicketFacts(
                    kind=stream.kind,
                    state=state,
                    shop_id=shop_id,
                    reason_code=stream.reason_code or None,
                    complaint_category=stream.complaint_category or None,
                    channel=channel,
                    buyer_tier=stream.buyer_tier or None,
                    amount=stream.amount,
                )
            )
            owners.append((step.owner, step.deadline))
            # What tickets.clock reads of a ticket: its kind's steps, its state and whether it is a platform's case.
            tickets.append(model(kind=stream.kind, state=state, platform=stream.platform))
        self.facts.append(facts)
        self.owners.append(owners)
        self.tickets.append(tickets)

    def route(
        self, stream: int, step: int, previous: str | None, backlog: Backlog
    ) -> tuple[str | None, timedelta | None, int, int]:
        key = (stream, step, previous)
        found = self._routes.get(key)
        if found is not None:
            return found
        base = self.facts[stream][step]
        facts = TicketFacts(**{**base.__dict__, "department": previous})
        owner, deadline = self.owners[stream][step]
        queues = _Queues(backlog)
        route = step_route(facts, owner=owner, deadline=deadline, workload=queues)
        # A rule's priority raises the ticket's (tickets.services.engine.step_apply); a new ticket is normal.
        priority = max(route.priority or Priority.NORMAL, Priority.NORMAL)
        found = (route.department, route.deadline, route.warn_percent, priority)
        if not queues.asked:
            self._routes[key] = found
        return found

    def enter(
        self, stream: int, step: int, previous: str | None, at: float, backlog: Backlog
    ) -> tuple[str | None, float | None, int]:
        department, deadline, warn, priority = self.route(stream, step, previous, backlog)
        if department is None:
            return None, None, priority
        return department, self.due(stream, step, department, deadline, warn, at), priority

    def due(
        self, stream: int, step: int, department: str, deadline: timedelta | None, warn: int, at: float
    ) -> float | None:
        """The step's deadline in minutes from the plan's start, by tickets.clock.step_clock.

        A department without a calendar counts calendar time whatever the step (routing.calendars): its deadline is
        the time allowed after the start, computed here without the clock's round trip (a third of a day's play).
        """
        if deadline is None:
            return None
        around_the_clock = self._around_the_clock.get(department)
        if around_the_clock is None:
            around_the_clock = self._around_the_clock[department] = department_schedule(department) is None
        if around_the_clock:
            return at + deadline.total_seconds() / 60.0
        start = self.start + timedelta(minutes=at)
        due, _warn = step_clock(
            self.tickets[stream][step], department=department, start=start, deadline=deadline, warn_percent=warn
        )
        if due is None:
            return None
        return (due - self.start).total_seconds() / 60.0


def departments_known() -> dict[str, str]:
    """Department code → name, from routing's snapshot (the page's and the command's labels)."""
    return {code: department.name for code, department in routing_config.get().departments.items()}
