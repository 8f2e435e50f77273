"""Reinforcement: a supervisor moves a staff member of another department into a queue for a while.

The row (``routing.Reinforcement``) is the whole grant: while it is in force (``routing.models.reinforcement_active``)
the staff member's departments include the queue's (tickets.actors.staff_departments, routing's
``staff_member_departments``), so they see, claim and act on its tickets, and the assignee picker may give them
up to ``cap`` of its open tickets at once (routing.services.AssigneePicker). It stops at ``ends_at`` by itself
(every reader checks the time), or earlier when a supervisor ends it.

When it stops, the queue's open tickets still assigned to them go back to the queue unassigned, each with an
assignment entry on its timeline (they could no longer see them): at once when ended early, at the next watch
(``reinforcements_expire``, which also records the expiry on the row) after ``ends_at``. Saving the row reloads
routing's snapshots of who is on duty where (routing.config) in every process.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, DomainError, ValidationFailed
from routing.models import Department, Reinforcement, StaffMember, reinforcement_active
from tickets.actors import Actor, Role
from tickets.errors import NotPermitted
from tickets.models import Ticket
from tickets.services.assignment import ticket_assign

logger = logging.getLogger(__name__)

SURGE_ACTOR = "surge"
MAX_CAP = 100


def _supervisor_only(actor: Actor) -> None:
    if not actor.is_supervisor:
        raise NotPermitted(_("Only supervisors can move staff between departments."))


def reinforcement_add(
    *,
    actor: Actor,
    user: User,
    department: Department,
    ends_at: datetime,
    cap: int,
    reason: str,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> Reinforcement:
    """Move ``user`` into ``department``'s queue from ``starts_at`` (now) until ``ends_at``, with at most ``cap`` of
    its open tickets assigned at once. Supervisors only; recorded with who did it and why.

    Refused: the supervisors' department (a reinforcement never grants supervising), a department the user is a
    member of, someone who is not an active staff member, an end in the past or before the start, a cap outside
    1–``MAX_CAP``, no reason, and a second reinforcement of the same person into the same department while one has
    not ended (end it first). Locks the staff member's row: two supervisors adding the same move at once add one.
    """
    _supervisor_only(actor)
    if actor.user is None:  # a supervisor is a staff user (Actor.is_supervisor)
        raise NotPermitted(_("Only supervisors can move staff between departments."))
    now = now or timezone.now()
    starts_at = starts_at or now
    reason = (reason or "").strip()
    if department.code == Role.SUPERVISORS:
        raise ValidationFailed(
            _("Reinforcement is for the departments' queues; supervisors are chosen on the staff member's page."),
            code="reinforce_supervisors",
            field="department",
        )
    if not reason:
        raise ValidationFailed(_("Say why the staff member is moved."), code="reason_required", field="reason")
    if ends_at <= max(starts_at, now):
        raise ValidationFailed(
            _("The end must be after the start and in the future."), code="ends_too_soon", field="ends_at"
        )
    if not 1 <= cap <= MAX_CAP:
        raise ValidationFailed(
            _("The cap must be between 1 and %(max)s open tickets.") % {"max": MAX_CAP}, code="cap", field="cap"
        )
    with transaction.atomic():
        member = StaffMember.objects.select_for_update().filter(user=user, user__is_active=True).first()
        if member is None:
            raise ValidationFailed(
                _("%(user)s is not an active staff member.") % {"user": user.get_username()},
                code="not_staff",
                field="user",
            )
        if member.departments.filter(pk=department.pk).exists():
            raise ValidationFailed(
                _("%(user)s is already a member of %(department)s.")
                % {"user": user.get_username(), "department": department.name},
                code="already_member",
                field="user",
            )
        current = Reinforcement.objects.filter(user=user, department=department, ended_at=None, ends_at__gt=now).first()
        if current is not None:
            raise Conflict(
                _("%(user)s is already moved to %(department)s until %(until)s; end that first.")
                % {
                    "user": user.get_username(),
                    "department": department.name,
                    "until": f"{timezone.localtime(current.ends_at):%Y-%m-%d %H:%M}",
                },
                code="already_reinforced",
            )
        reinforcement = Reinforcement.objects.create(
            user=user,
            department=department,
            starts_at=starts_at,
            ends_at=ends_at,
            cap=cap,
            reason=reason,
            created_by=actor.user,
            created_at=now,
        )
    logger.info(
        "surge: %s moved %s to %s until %s (cap %s): %s",
        actor.name,
        user.get_username(),
        department.code,
        ends_at,
        cap,
        reason,
    )
    return reinforcement


def reinforcement_end(*, actor: Actor, reinforcement: Reinforcement, now: datetime | None = None) -> Reinforcement:
    """End a reinforcement before its time (supervisors only): recorded with who and when; the queue's tickets
    assigned to the staff member go back to it. Refused when it already stopped (ended, or past its end)."""
    _supervisor_only(actor)
    now = now or timezone.now()
    with transaction.atomic():
        locked = Reinforcement.objects.select_for_update().select_related("user", "department").get(pk=reinforcement.pk)
        if locked.ended_at is not None or locked.ends_at <= now:
            raise Conflict(_("This reinforcement has already ended."), code="reinforcement_ended")
        locked.ended_at = now
        locked.ended_by = actor.user
        locked.save(update_fields=["ended_at", "ended_by"])
    _tickets_back_to_queue(locked)
    return locked


def reinforcements_expire(*, now: datetime | None = None) -> int:
    """Record the expiry of the reinforcements past their end (``expired_at``) and give their tickets back to the
    queue. Idempotent (each is recorded once, under its row lock; another watch's rows are skipped). Returns how
    many were recorded."""
    now = now or timezone.now()
    ids = list(
        Reinforcement.objects.filter(ended_at=None, expired_at=None, ends_at__lte=now).values_list("pk", flat=True)
    )
    recorded = 0
    for pk in ids:
        with transaction.atomic():
            found = (
                Reinforcement.objects.select_for_update(skip_locked=True)
                .select_related("user", "department")
                .filter(pk=pk, ended_at=None, expired_at=None)
                .first()
            )
            if found is None:
                continue
            found.expired_at = now
            found.save(update_fields=["expired_at"])
        _tickets_back_to_queue(found)
        recorded += 1
    return recorded


def _tickets_back_to_queue(reinforcement: Reinforcement) -> int:
    """The reinforced queue's open tickets assigned to the staff member, back to the queue (unassigned), each with
    its timeline entry, unless the staff member may still work the queue (a member now, or moved again)."""
    user = reinforcement.user
    still = Actor.staff(user)
    code = reinforcement.department.code
    if code in still.departments:
        return 0
    tickets = Ticket.objects.filter(assignee=user, department=code, closed_at__isnull=True).order_by("pk")
    actor = Actor.system(SURGE_ACTOR)
    count = 0
    for ticket in tickets:
        try:  # the version read here: a ticket changed meanwhile (reassigned, moved on) is left as it now is
            ticket_assign(ticket=ticket, actor=actor, assignee=None)
        except DomainError as exc:
            logger.info("surge: ticket %s left as it is after %s: %s", ticket.number, reinforcement, exc)
            continue
        count += 1
    return count


def reinforcements_in_force(*, now: datetime | None = None) -> list[Reinforcement]:
    """The reinforcements in force at ``now``, by department and end."""
    now = now or timezone.now()
    return list(
        Reinforcement.objects.filter(reinforcement_active(now))
        .select_related("user", "department", "created_by")
        .order_by("department__code", "ends_at", "pk")
    )
