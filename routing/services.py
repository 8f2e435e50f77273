"""Who handles a ticket's step, with which clock, and which person in the team.

``step_route`` is called by the ticket engine (tickets.services.engine.step_apply) for every new step,
inside the transition's transaction: it evaluates the routing rules (first match wins, by position), the
deadline policies (rule's policy, then shop, channel, global, then the kind's default), overflow to a
backup pool, and picks an assignee. ``ticket_claim`` and ``ticket_reassign`` are the people's use cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, ValidationFailed
from routing.config import departments_on_duty, routing_config
from routing.models import AssignmentStrategy, DeadlinePolicy, Department, RoutingRule, StaffMember
from tickets.actors import Actor, ActorKind
from tickets.errors import NotPermitted
from tickets.models import Ticket
from tickets.workflows.steps import BUYER, Step

DEFAULT_WARN_PERCENT = 80


@dataclass(frozen=True)
class Route:
    department: str | None
    priority: int | None
    deadline: timedelta | None
    warn_percent: int


def _ticket_amount(ticket: Ticket) -> Decimal | None:
    amount = getattr(ticket, "requested_amount", None)
    if amount is None:
        amount = getattr(ticket, "compensation_amount", None)
    return amount


def rule_matches(rule: RoutingRule, ticket: Ticket, state: str) -> bool:
    """Whether every non-empty match field of ``rule`` holds for ``ticket`` entering ``state``."""
    if rule.kind and rule.kind != ticket.kind:
        return False
    if rule.state and rule.state != state:
        return False
    if rule.reason_codes and ticket.reason_code not in rule.reason_codes:
        return False
    if rule.complaint_categories and getattr(ticket, "category", None) not in rule.complaint_categories:
        return False
    if rule.shop_id and rule.shop_id != ticket.shop_id:
        return False
    if rule.channel and rule.channel != ticket.shop.channel:
        return False
    if rule.buyer_tier and rule.buyer_tier != ticket.buyer.tier:
        return False
    if rule.min_amount is not None or rule.max_amount is not None:
        amount = _ticket_amount(ticket)
        if amount is None:
            return False
        if rule.min_amount is not None and amount < rule.min_amount:
            return False
        if rule.max_amount is not None and amount > rule.max_amount:
            return False
    return True


def rule_first_match(ticket: Ticket, state: str) -> RoutingRule | None:
    for rule in routing_config.get().rules:
        if rule_matches(rule, ticket, state):
            return rule
    return None


def policy_for(ticket: Ticket, state: str, rule: RoutingRule | None) -> DeadlinePolicy | None:
    """The deadline policy in force: the rule's own (for this kind and state), else shop, channel, global."""
    if rule is not None and rule.deadline_policy is not None:
        policy = rule.deadline_policy
        if policy.active and policy.kind == ticket.kind and policy.state == state:
            return policy
    # A policy a routing rule names is that rule's lane (e.g. a VIP fast lane): it never applies to others.
    best: DeadlinePolicy | None = None
    best_rank = 99
    for policy in routing_config.get().policies.get((ticket.kind, state), ()):
        if policy.shop_id:
            if policy.shop_id != ticket.shop_id:
                continue
            rank = 0
        elif policy.channel:
            if policy.channel != ticket.shop.channel:
                continue
            rank = 1
        else:
            rank = 2
        if rank < best_rank:
            best, best_rank = policy, rank
    return best


def step_route(ticket: Ticket, state: str, step: Step) -> Route:
    """Department, priority and clock for ``ticket`` entering ``state`` (whose default is ``step``)."""
    if not step.owner:
        return Route(department=None, priority=None, deadline=None, warn_percent=DEFAULT_WARN_PERCENT)
    rule = rule_first_match(ticket, state)
    department = None if step.owner == BUYER else step.owner
    if department and rule is not None and rule.department is not None:
        department = rule.department.code
    policy = policy_for(ticket, state, rule)
    deadline = policy.duration if policy is not None else step.deadline
    warn = policy.warn_at_percent if policy is not None else DEFAULT_WARN_PERCENT
    # Surge overflow is for work new to the team: a ticket the team already holds stays with it (and with
    # its assignee, see tickets.services.engine.step_apply) when it moves to the team's next step.
    if department and department != ticket.department:
        department = _overflow(department)
    return Route(
        department=department,
        priority=rule.priority if rule is not None else None,
        deadline=deadline,
        warn_percent=warn,
    )


def unassigned_backlog(code: str) -> int:
    return Ticket.objects.filter(department=code, assignee__isnull=True, closed_at__isnull=True).count()


def _overflow(code: str) -> str:
    """Surge mode: past its threshold of unassigned open tickets, a department's new work goes to its backup."""
    department = routing_config.get().departments.get(code)
    if department is None or department.overflow_threshold is None or department.backup is None:
        return code
    if unassigned_backlog(code) >= department.overflow_threshold:
        return department.backup.code
    return code


def open_ticket_counts(user_ids: list[int]) -> dict[int, int]:
    rows = (
        Ticket.objects.filter(assignee_id__in=user_ids, closed_at__isnull=True)
        .values("assignee_id")
        .annotate(n=Count("pk"))
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def assignee_pick(code: str) -> AbstractBaseUser | None:
    """An on-duty member of the department under their cap: fewest open tickets, or next in rotation.

    Locks the candidates' ``StaffMember`` rows (ordered by pk) for the transaction, so two tickets routed
    at the same moment cannot both take a member's last free place; a department nobody is on duty in
    takes no lock at all (ticket creation must not serialise on a department row), and is known from the
    on-duty snapshot (routing.config.departments_on_duty) without a query. None when nobody can take it: the
    ticket then waits, visibly unassigned, in the department's queue.
    """
    department = routing_config.get().departments.get(code)
    if department is None or code not in departments_on_duty.get():
        return None
    members = list(
        # of=self: the members' rows only, not their user accounts (a login writes last_login there).
        StaffMember.objects.select_for_update(of=("self",))
        .filter(departments=department.pk, on_duty=True, user__is_active=True)
        .select_related("user")
        .order_by("pk")
    )
    if not members:
        return None
    counts = open_ticket_counts([m.user_id for m in members])
    free = [m for m in members if counts.get(m.user_id, 0) < m.max_open_tickets]
    if not free:
        return None
    if department.strategy == AssignmentStrategy.ROUND_ROBIN:
        # The rotation's position changes with every assignment: read it, never from the snapshot.
        last = Department.objects.filter(pk=department.pk).values_list("last_assigned_id", flat=True).first()
        after = [m for m in free if last is not None and m.user_id > last]
        chosen = min(after or free, key=lambda m: m.user_id)
    else:
        chosen = min(free, key=lambda m: (counts.get(m.user_id, 0), m.user_id))
    Department.objects.filter(pk=department.pk).update(last_assigned=chosen.user)
    return chosen.user


def staff_member_departments(user: AbstractBaseUser) -> frozenset[str]:
    member = StaffMember.objects.filter(user=user).first()
    if member is None:
        return frozenset()
    return frozenset(member.departments.values_list("code", flat=True))


def ticket_claim(*, ticket: Ticket, actor: Actor) -> Ticket:
    """A staff member takes an unassigned ticket of their department's queue."""
    from tickets.services.engine import ticket_lock
    from tickets.services.timeline import ticket_assign

    if actor.kind != ActorKind.STAFF or actor.user is None:
        raise NotPermitted(_("Only staff can claim tickets."))
    if not actor.is_supervisor and ticket.department not in actor.departments:
        raise NotPermitted(
            _("Ticket %(number)s is in the %(department)s queue, not yours.")
            % {"number": ticket.number, "department": ticket.department}
        )
    with transaction.atomic():
        # The same rows (common and kind's) as every change locks, in the same statement: a claim and a
        # transition on one ticket queue on one lock instead of each holding half of the other's.
        current = ticket_lock(ticket=ticket, check_version=False)
        if current.closed_at is not None:
            raise Conflict(
                _("Ticket %(number)s is closed; there is nothing to claim.") % {"number": ticket.number},
                code="ticket_closed",
            )
        if current.assignee_id is not None and current.assignee_id != actor.user.pk:
            raise Conflict(
                _("Ticket %(number)s was already claimed by %(assignee)s.")
                % {"number": ticket.number, "assignee": current.assignee},
                code="already_claimed",
            )
        return ticket_assign(ticket=ticket, actor=actor, assignee=actor.user)


def ticket_reassign(*, ticket: Ticket, actor: Actor, assignee: AbstractBaseUser | None) -> Ticket:
    """A supervisor gives the ticket to someone (a member of its department), or back to the queue."""
    from tickets.services.timeline import ticket_assign

    if not actor.is_supervisor:
        raise NotPermitted(_("Only supervisors can reassign tickets."))
    if assignee is not None:
        member_of = staff_member_departments(assignee)
        if ticket.department and ticket.department not in member_of and "supervisors" not in member_of:
            raise ValidationFailed(
                _("%(user)s is not a member of the %(department)s department.")
                % {"user": assignee.get_username(), "department": ticket.department},
                code="not_a_member",
                field="assignee",
            )
    return ticket_assign(ticket=ticket, actor=actor, assignee=assignee)


def staff_set_on_duty(*, user: AbstractBaseUser, on_duty: bool) -> StaffMember:
    member, _created = StaffMember.objects.get_or_create(user=user)
    if member.on_duty != on_duty:
        member.on_duty = on_duty
        member.save(update_fields=["on_duty"])
    return member
