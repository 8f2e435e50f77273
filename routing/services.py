"""Who handles a ticket's step, with which clock, and which person in the team: from facts, not from tickets.

Routing sits below tickets (docs/architecture.md): it imports nothing of them. The ticket engine
(tickets.services.engine.step_apply) describes the ticket in a :class:`TicketFacts` and hands over the
step's default owner and deadline and a :class:`Workload` (its reads of the ticket table); ``step_route``
evaluates the routing rules (first match wins, by position), the deadline policies (rule's policy, then
shop, channel, global, then the step's default), overflow to a backup pool; ``assignee_pick`` picks the
person. Claim and reassignment are ticket use cases (tickets.services.assignment).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from django.contrib.auth.models import User
from django.db.models import Q
from django.utils import timezone

from kefu.core.vocabulary import BUYER
from routing.config import departments_on_duty, reinforced_departments, routing_config
from routing.models import (
    AssignmentStrategy,
    DeadlinePolicy,
    Department,
    Reinforcement,
    RoutingRule,
    StaffMember,
    reinforcement_active,
)

DEFAULT_WARN_PERCENT = 80


@dataclass(frozen=True)
class TicketFacts:
    """What rules and policies match on, for a ticket entering ``state``.

    ``department`` is the department holding the ticket before this step (None: nobody yet). ``channel``,
    ``buyer_tier`` and ``reason_code`` may be None when :func:`facts_wanted` does not name them (no active rule
    or policy looks at them): the caller is spared reading the shop, the buyer or the reason. ``amount`` is what
    the buyer asks for (a refund, a compensation), None when the kind has no amount.
    """

    kind: str
    state: str
    shop_id: int
    department: str | None = None
    reason_code: str | None = None
    complaint_category: str | None = None
    channel: str | None = None
    buyer_tier: str | None = None
    amount: Decimal | None = None


class Workload(Protocol):
    """How much open work departments and people hold: the ticket engine's reads of its table."""

    def unassigned_backlog(self, department: str) -> int:
        """Open tickets of ``department`` nobody is assigned to (what overflow compares with its threshold)."""
        ...

    def open_ticket_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        """Open tickets assigned to each of ``user_ids`` (absent: none); what the members' caps are checked with."""
        ...

    def open_department_counts(self, department: str, user_ids: Sequence[int]) -> dict[int, int]:
        """Open tickets of ``department`` assigned to each of ``user_ids``: a reinforcement's cap is checked with
        it. Asked only when the department has reinforcements in force."""
        ...


@dataclass(frozen=True)
class Route:
    department: str | None
    priority: int | None
    deadline: timedelta | None
    warn_percent: int


def facts_wanted() -> frozenset[str]:
    """Which of the facts that cost their reader something (routing.config's ``CHANNEL``, ``BUYER_TIER``,
    ``REASON_CODE``) an active rule or policy matches on; from the configuration snapshot, no query."""
    return routing_config.get().facts_wanted


def rule_matches(rule: RoutingRule, facts: TicketFacts) -> bool:
    """Whether every non-empty match field of ``rule`` holds for the ticket ``facts`` describe."""
    if rule.kind and rule.kind != facts.kind:
        return False
    if rule.state and rule.state != facts.state:
        return False
    if rule.reason_codes and facts.reason_code not in rule.reason_codes:
        return False
    if rule.complaint_categories and facts.complaint_category not in rule.complaint_categories:
        return False
    if rule.shop_id and rule.shop_id != facts.shop_id:
        return False
    if rule.channel and rule.channel != facts.channel:
        return False
    if rule.buyer_tier and rule.buyer_tier != facts.buyer_tier:
        return False
    if rule.min_amount is not None or rule.max_amount is not None:
        if facts.amount is None:
            return False
        if rule.min_amount is not None and facts.amount < rule.min_amount:
            return False
        if rule.max_amount is not None and facts.amount > rule.max_amount:
            return False
    return True


def rule_first_match(facts: TicketFacts) -> RoutingRule | None:
    for rule in routing_config.get().rules:
        if rule_matches(rule, facts):
            return rule
    return None


def policy_for(facts: TicketFacts, rule: RoutingRule | None) -> DeadlinePolicy | None:
    """The deadline policy in force: the rule's own (for this kind and state), else shop, channel, global."""
    if rule is not None and rule.deadline_policy is not None:
        policy = rule.deadline_policy
        if policy.active and policy.kind == facts.kind and policy.state == facts.state:
            return policy
    # A policy a routing rule names is that rule's lane (e.g. a VIP fast lane): it never applies to others.
    best: DeadlinePolicy | None = None
    best_rank = 99
    for policy in routing_config.get().policies.get((facts.kind, facts.state), ()):
        if policy.shop_id:
            if policy.shop_id != facts.shop_id:
                continue
            rank = 0
        elif policy.channel:
            if policy.channel != facts.channel:
                continue
            rank = 1
        else:
            rank = 2
        if rank < best_rank:
            best, best_rank = policy, rank
    return best


def step_route(facts: TicketFacts, *, owner: str, deadline: timedelta | None, workload: Workload) -> Route:
    """Department, priority and clock for the ticket entering ``facts.state``.

    ``owner`` and ``deadline`` are the step's defaults (its kind's ``STEPS`` table): a department's code,
    :data:`~kefu.core.vocabulary.BUYER` while the buyer must act, or ``""`` in an end state (no owner, no clock).
    """
    if not owner:
        return Route(department=None, priority=None, deadline=None, warn_percent=DEFAULT_WARN_PERCENT)
    rule = rule_first_match(facts)
    department = None if owner == BUYER else owner
    if department and rule is not None and rule.department is not None:
        department = rule.department.code
    policy = policy_for(facts, rule)
    if policy is not None:
        deadline = policy.duration
    warn = policy.warn_at_percent if policy is not None else DEFAULT_WARN_PERCENT
    # Surge overflow is for work new to the team: a ticket the team already holds stays with it (and with
    # its assignee, see tickets.services.engine.step_apply) when it moves to the team's next step.
    if department and department != facts.department:
        department = _overflow(department, workload)
    return Route(
        department=department,
        priority=rule.priority if rule is not None else None,
        deadline=deadline,
        warn_percent=warn,
    )


def _overflow(code: str, workload: Workload) -> str:
    """Surge mode: past its threshold of unassigned open tickets, a department's new work goes to its backup."""
    department = routing_config.get().departments.get(code)
    if department is None or department.overflow_threshold is None or department.backup is None:
        return code
    if workload.unassigned_backlog(code) >= department.overflow_threshold:
        return department.backup.code
    return code


def assignee_pick(code: str, *, workload: Workload) -> User | None:
    """An on-duty member of the department under their cap: fewest open tickets, or next in rotation.

    Locks the candidates' ``StaffMember`` rows (ordered by pk) for the transaction, so two tickets routed
    at the same moment cannot both take a member's last free place; a department nobody is on duty in
    takes no lock at all (ticket creation must not serialise on a department row), and is known from the
    on-duty snapshot (routing.config.departments_on_duty) without a query. None when nobody can take it: the
    ticket then waits, visibly unassigned, in the department's queue.
    """
    pickers = _batch_pickers.get()
    if pickers is not None:  # inside assignee_batch(): one picker per department for the whole batch
        if code not in pickers:
            pickers[code] = AssigneePicker(code, workload=workload)
        return pickers[code].pick()
    picker = AssigneePicker(code, workload=workload)
    chosen = picker.pick()
    picker.close()
    return chosen


_batch_pickers: ContextVar[dict[str, AssigneePicker] | None] = ContextVar("assignee_batch", default=None)


@contextmanager
def assignee_batch() -> Iterator[None]:
    """Within the block, successive ``assignee_pick`` calls share one ``AssigneePicker`` per department: its
    members locked and their load read once, each pick counting towards the next, the rotation written once at
    the end. The same choices as one ``assignee_pick`` per ticket in the same transaction, without re-reading
    every member's open tickets per ticket (an incident opening a chunk of tickets at once: the per-ticket count
    grew with the incident's own tickets). Use it inside the caller's transaction; after an error nothing is
    written (the transaction rolls back anyway)."""
    pickers: dict[str, AssigneePicker] = {}
    token = _batch_pickers.set(pickers)
    try:
        yield
    finally:
        _batch_pickers.reset(token)
    for picker in pickers.values():
        picker.close()


class AssigneePicker:
    """Successive picks in one department within one transaction, as successive ``assignee_pick`` calls would
    make them (the deadline sweep escalating a chunk of tickets to supervisors).

    The members are locked and their load read once, at the first pick; each pick counts towards the next
    (the ticket it is for is assigned in the same transaction); ``close()`` writes the rotation's position
    once, after the last pick. Locks: as ``assignee_pick``, so the caller locks its tickets first.
    """

    def __init__(self, code: str, *, workload: Workload) -> None:
        self.code = code
        self.workload = workload
        self._members: list[StaffMember] | None = None
        self._counts: dict[int, int] = {}
        self._last: int | None = None
        self._chosen: User | None = None
        self._caps: dict[int, int] = {}  # reinforcements' caps on this department's open tickets, by user id
        self._department_counts: dict[int, int] = {}

    def _load(self, department: Department) -> list[StaffMember]:
        # Reinforcements in force (surge): members of other departments, each with a cap on this department's
        # open tickets besides their own overall cap. Read first, without a lock: one that ends while the
        # transaction runs may still get this ticket, as a member taken off duty a moment later would.
        caps: dict[int, int] = {}
        if self.code in reinforced_departments.get():
            caps = dict(
                Reinforcement.objects.filter(reinforcement_active(timezone.now()), department=department.pk)
                .order_by("pk")
                .values_list("user_id", "cap")
            )
        members_of = Q(departments=department.pk)
        if caps:  # a subquery, not a join: a reinforced member's own departments would repeat their row
            members_of = Q(
                pk__in=StaffMember.departments.through.objects.filter(department_id=department.pk).values(
                    "staffmember_id"
                )
            ) | Q(user_id__in=sorted(caps))
        members = list(
            # of=self: the members' rows only, not their user accounts (a login writes last_login there).
            StaffMember.objects.select_for_update(of=("self",))
            .filter(
                members_of,
                on_duty=True,
                user__is_active=True,
            )
            .select_related("user")
            .order_by("pk")
        )
        if members:
            self._counts = self.workload.open_ticket_counts([m.user_id for m in members])
        # A reinforcement of someone who is a member anyway changes nothing: only members of other departments
        # get the department's cap.
        regular = (
            set(
                StaffMember.departments.through.objects.filter(
                    department_id=department.pk, staffmember__user_id__in=sorted(caps)
                ).values_list("staffmember__user_id", flat=True)
            )
            if caps
            else set()
        )
        self._caps = {user_id: cap for user_id, cap in caps.items() if user_id not in regular}
        if self._caps:
            self._department_counts = self.workload.open_department_counts(self.code, sorted(self._caps))
        return members

    def _free(self, member: StaffMember) -> bool:
        if self._counts.get(member.user_id, 0) >= member.max_open_tickets:
            return False
        cap = self._caps.get(member.user_id)
        return cap is None or self._department_counts.get(member.user_id, 0) < cap

    def pick(self) -> User | None:
        department = routing_config.get().departments.get(self.code)
        if department is None or self.code not in departments_on_duty.get():
            return None
        first = self._members is None
        if self._members is None:
            self._members = self._load(department)
        counts = self._counts
        free = [m for m in self._members if self._free(m)]
        if not free:
            return None
        if department.strategy == AssignmentStrategy.ROUND_ROBIN:
            if first:
                # The rotation's position changes with every assignment: read it, never from the snapshot.
                self._last = (
                    Department.objects.filter(pk=department.pk).values_list("last_assigned_id", flat=True).first()
                )
            last = self._last
            after = [m for m in free if last is not None and m.user_id > last]
            chosen = min(after or free, key=lambda m: m.user_id)
        else:
            chosen = min(free, key=lambda m: (counts.get(m.user_id, 0), m.user_id))
        counts[chosen.user_id] = counts.get(chosen.user_id, 0) + 1
        if chosen.user_id in self._caps:
            self._department_counts[chosen.user_id] = self._department_counts.get(chosen.user_id, 0) + 1
        self._last = chosen.user_id
        self._chosen = chosen.user
        return chosen.user

    def close(self) -> None:
        """Write the rotation's position (the last member picked), once; nothing when nobody was picked."""
        if self._chosen is not None:
            department = routing_config.get().departments[self.code]
            Department.objects.filter(pk=department.pk).update(last_assigned=self._chosen)
            self._chosen = None


def staff_member_departments(user: User) -> frozenset[str]:
    """The departments ``user`` is a member of, and those a reinforcement in force moves them into (one query)."""
    members = (
        StaffMember.departments.through.objects.filter(staffmember__user=user)
        .order_by()
        .values_list("department__code", flat=True)
    )
    reinforced = (
        Reinforcement.objects.filter(reinforcement_active(timezone.now()), user=user)
        .order_by()
        .values_list("department__code", flat=True)
    )
    return frozenset(members.union(reinforced))


def staff_set_on_duty(*, user: User, on_duty: bool) -> StaffMember:
    member, _created = StaffMember.objects.get_or_create(user=user)
    if member.on_duty != on_duty:
        member.on_duty = on_duty
        member.save(update_fields=["on_duty"])
    return member
