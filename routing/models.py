"""Departments and their people, supervisors' routing rules, and deadline policies.

A ticket's ``department`` holds a ``Department.code``. The default department of each (kind, state) is
the kind's ``STEPS`` table (tickets.workflows); rules and policies stored here override it, evaluated by
routing.services on every step.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.core.vocabulary import RESERVED_DEPARTMENT_CODES, STATES_BY_KIND, Kind, Priority
from orders.models import MONEY, BuyerTier, Channel, Shop


class AssignmentStrategy(models.TextChoices):
    LEAST_LOADED = "least_loaded", _("Fewest open tickets")
    ROUND_ROBIN = "round_robin", _("Round robin")


class Weekday(models.IntegerChoices):
    # "weekday": kefu says 周一, Django's own calendar widgets keep 星期一.
    MONDAY = 0, pgettext_lazy("weekday", "Monday")
    TUESDAY = 1, pgettext_lazy("weekday", "Tuesday")
    WEDNESDAY = 2, pgettext_lazy("weekday", "Wednesday")
    THURSDAY = 3, pgettext_lazy("weekday", "Thursday")
    FRIDAY = 4, pgettext_lazy("weekday", "Friday")
    SATURDAY = 5, pgettext_lazy("weekday", "Saturday")
    SUNDAY = 6, pgettext_lazy("weekday", "Sunday")


def _zone_check(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("'%(zone)s' is not a time zone (e.g. Asia/Shanghai)."), params={"zone": value}, code="zone"
        ) from exc


class BusinessCalendar(models.Model):
    """When a department works: internal SLAs (routing's deadline policies of escalating steps) count only these
    hours (routing.calendars). A department without one works around the clock (24×7, calendar time)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai", validators=[_zone_check])
    china_holidays = models.BooleanField(
        _("China's public holidays"),
        default=True,
        help_text=_("Closed on China's public holidays, open on their make-up workdays (调休)."),
    )
    makeup_weekday = models.PositiveSmallIntegerField(
        _("make-up workdays work like"),
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        help_text=_(
            "A make-up workday or an extra workday on a day the week has no hours opens with this day's hours."
        ),
    )

    class Meta:
        verbose_name = _("business-hours calendar")
        verbose_name_plural = _("business-hours calendars")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingHours(models.Model):
    """One opening range of a weekday (a day may have several, e.g. 09:00–12:00 and 13:30–18:00)."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="hours", verbose_name=_("calendar")
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(pgettext_lazy("opening hours", "from"))
    end = models.TimeField(pgettext_lazy("opening hours", "until"), help_text=_("00:00: until midnight."))

    class Meta:
        verbose_name = _("working hours")
        verbose_name_plural = _("working hours")
        ordering = ["calendar", "weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start is not None and self.end is not None and self.end != time(0) and self.end <= self.start:
            raise ValidationError({"end": _("The hours must end after they start (00:00: until midnight).")})


class CalendarDay(models.Model):
    """A merchant's own exception: a day off (a company holiday) or an extra workday, winning over China's."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="days", verbose_name=_("calendar")
    )
    date = models.DateField(_("date"))
    open = models.BooleanField(
        pgettext_lazy("calendar day", "open"),
        default=False,
        help_text=_("Ticked: an extra workday; not ticked: a day off."),
    )
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday or extra workday")
        verbose_name_plural = _("holidays and extra workdays")
        ordering = ["calendar", "date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique")]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d}"


class Department(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    strategy = models.CharField(
        _("assignment"), max_length=16, choices=AssignmentStrategy.choices, default=AssignmentStrategy.LEAST_LOADED
    )
    overflow_threshold = models.PositiveIntegerField(
        _("overflow threshold"),
        null=True,
        blank=True,
        help_text=_("When this many open tickets wait unassigned, new tickets go to the backup pool."),
    )
    backup = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("backup pool")
    )
    calendar = models.ForeignKey(
        BusinessCalendar,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="departments",
        verbose_name=_("business hours"),
        help_text=_("Internal deadlines count only these hours; empty: around the clock (24×7)."),
    )
    # Round robin: the member who got the last ticket (rotation continues after them).
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.code and self.code.lower() in RESERVED_DEPARTMENT_CODES:
            raise ValidationError(
                {
                    "code": _(
                        "'%(code)s' names who acts on a ticket (a buyer, the system, an integration …), not a "
                        "department; choose another code."
                    )
                    % {"code": self.code}
                }
            )
        if self.backup_id and self.backup_id == self.pk:
            raise ValidationError({"backup": _("A department cannot be its own backup pool.")})
        # Overflow needs both (routing.services._overflow): either alone would silently do nothing.
        if self.overflow_threshold is not None and not self.backup_id:
            raise ValidationError(
                {
                    "backup": _(
                        "Choose the backup pool that takes new tickets past the overflow threshold, or clear "
                        "the threshold."
                    )
                }
            )
        if self.backup_id and self.overflow_threshold is None:
            raise ValidationError(
                {
                    "overflow_threshold": _(
                        "Set the number of unassigned open tickets at which new tickets go to the "
                        "backup pool, or clear the backup pool."
                    )
                }
            )


class StaffMember(models.Model):
    """A staff user's place in the desk: departments, whether on duty now, and how much they may hold."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_member", verbose_name=_("user")
    )
    departments = models.ManyToManyField(Department, related_name="members", verbose_name=_("departments"))
    on_duty = models.BooleanField(_("on duty"), default=True)
    max_open_tickets = models.PositiveIntegerField(_("open ticket cap"), default=30)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")

    def __str__(self) -> str:
        return self.user.get_username()


class DeadlinePolicy(models.Model):
    """How long a step may take, overriding the kind's default for a shop, a channel, or everywhere.

    The most specific active policy wins: shop, then channel, then global. A routing rule may name a
    policy, which then wins over all of them for the tickets it matches.
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("ticket kind"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=32)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("shop"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    duration = models.DurationField(_("time allowed"))
    warn_at_percent = models.PositiveSmallIntegerField(
        # A literal percent sign, not a placeholder (makemessages would flag it python-format).
        # xgettext:no-python-format
        _("warn at (% of the time)"),
        default=80,
        help_text=_("A warning goes out when this share of the time is used."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")
        ordering = ["kind", "state", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(warn_at_percent__lte=100), name="policy_warn_at_most_100"),
            models.CheckConstraint(condition=Q(duration__gt=timedelta(0)), name="policy_duration_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        states = STATES_BY_KIND.get(self.kind)
        if states is not None and self.state not in states.values:
            raise ValidationError(
                {
                    "state": _("'%(state)s' is not a state of %(kind)s tickets (%(states)s).")
                    % {"state": self.state, "kind": self.kind, "states": ", ".join(states.values)}
                }
            )
        if self.shop_id and self.channel:
            raise ValidationError(_("A policy is for one shop or for one channel, not both."))


class RoutingRule(models.Model):
    """A supervisor's override of who handles a ticket: first matching rule (lowest position) wins.

    Empty match fields match everything. ``state`` empty means every state; the rule's department is then
    used for every merchant step of matching tickets (buyer steps and end states never route).
    """

    name = models.CharField(_("name"), max_length=100)
    position = models.PositiveIntegerField(_("position"), default=100, db_index=True)
    active = models.BooleanField(_("active"), default=True)
    # -- match --
    kind = models.CharField(_("ticket kind"), max_length=16, choices=Kind.choices, blank=True)
    state = models.CharField(_("state"), max_length=32, blank=True)
    reason_codes = models.JSONField(_("reason codes"), default=list, blank=True)
    complaint_categories = models.JSONField(_("complaint categories"), default=list, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("shop"))
    min_amount = models.DecimalField(_("amount from"), null=True, blank=True, **MONEY)
    max_amount = models.DecimalField(_("amount up to"), null=True, blank=True, **MONEY)
    buyer_tier = models.CharField(_("buyer tier"), max_length=16, choices=BuyerTier.choices, blank=True)
    # -- set --
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("route to")
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, null=True, blank=True)
    deadline_policy = models.ForeignKey(
        DeadlinePolicy, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("deadline policy")
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # A state that is not one of the kind's (a typo) or a policy for another kind or state would make the
        # rule, or its policy, silently never apply (routing.services.rule_matches / policy_for).
        kinds = [self.kind] if self.kind in STATES_BY_KIND else list(STATES_BY_KIND)
        if self.state and not any(self.state in STATES_BY_KIND[kind].values for kind in kinds):
            raise ValidationError(
                {
                    "state": _("'%(state)s' is not a state of %(kind)s tickets.")
                    % {"state": self.state, "kind": self.kind or _("any kind of")}
                }
            )
        policy = self.deadline_policy if self.deadline_policy_id else None
        if policy is not None and (
            (self.kind and policy.kind != self.kind) or (self.state and policy.state != self.state)
        ):
            message = _(
                "This policy is for %(kind)s tickets in '%(state)s'; the rule matches others, so it would never apply."
            )
            raise ValidationError({"deadline_policy": message % {"kind": policy.kind, "state": policy.state}})
        if self.min_amount is not None and self.max_amount is not None and self.min_amount > self.max_amount:
            raise ValidationError({"max_amount": _("'Amount up to' must not be below 'amount from'.")})
        if not (self.department_id or self.priority or self.deadline_policy_id):
            raise ValidationError(_("A rule must set a department, a priority or a deadline policy."))


def reinforcement_active(now: datetime) -> Q:
    """The reinforcements in force at ``now``: started, not yet at their end time, not ended early.

    Expiry is by time: this condition is what every reader of a staff member's departments applies
    (routing.services, tickets.actors), so a reinforcement stops at ``ends_at`` whether or not the beat task
    (surge.tasks) has recorded the expiry yet.
    """
    return Q(ended_at__isnull=True, starts_at__lte=now, ends_at__gt=now)


class Reinforcement(models.Model):
    """A staff member moved into another department's queue for a while (surge): while in force they see and
    work its tickets, and the assignee picker may give them up to ``cap`` of its open tickets at once.

    Here, below the ticket engine, because routing (the picker, ``staff_member_departments``) and the tickets'
    scope (tickets.actors.staff_departments) read it; the surge app creates and ends them
    (surge.services.reinforcements), supervisors only. Rows are never deleted: they are the record of who moved
    whom, when and why.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="reinforcements",
        verbose_name=pgettext_lazy("reinforcement", "staff member"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="reinforcements", verbose_name=_("department")
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    cap = models.PositiveIntegerField(
        _("open ticket cap in this department"),
        default=5,
        help_text=_("At most this many of the department's open tickets are assigned to them at once."),
    )
    reason = models.CharField(_("reason"), max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("moved by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Ended before ``ends_at`` by a supervisor.
    ended_at = models.DateTimeField(_("ended early at"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )
    # When the beat task noted that ``ends_at`` had passed (the reinforcement had stopped at ``ends_at`` already).
    expired_at = models.DateTimeField(_("expiry recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reinforcement")
        verbose_name_plural = _("reinforcements")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="reinforcement_ends_after"),
            models.CheckConstraint(condition=Q(cap__gte=1), name="reinforcement_cap_positive"),
        ]
        indexes = [
            # Whose departments include it (tickets.actors.staff_departments), and who the picker may add.
            models.Index(fields=["user", "ends_at"], name="reinforcement_user_idx", condition=Q(ended_at=None)),
            models.Index(
                fields=["department", "ends_at"], name="reinforcement_department_idx", condition=Q(ended_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.department}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("A reinforcement must end after it starts.")})
