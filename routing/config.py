"""Routing's configuration, read once per process (see kefu.core.config_cache): rules, policies, departments,
business-hours calendars."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from kefu.core.business_hours import Schedule, no_holidays
from kefu.core.china_holidays import china_day
from kefu.core.config_cache import ConfigSnapshot
from routing.models import BusinessCalendar, DeadlinePolicy, Department, Reinforcement, RoutingRule, StaffMember

# Facts of a ticket that cost its reader something (its shop's channel and its buyer's tier live in other rows,
# its reason's code in another snapshot): see RoutingConfig.facts_wanted.
CHANNEL = "channel"
BUYER_TIER = "buyer_tier"
REASON_CODE = "reason_code"


@dataclass(frozen=True)
class RoutingConfig:
    rules: tuple[RoutingRule, ...]  # active, first match wins (position, pk)
    # Active policies no routing rule names, by (kind, state): a rule's policy applies only through it.
    policies: dict[tuple[str, str], tuple[DeadlinePolicy, ...]]
    departments: dict[str, Department]  # by code, with the backup pool joined
    # CHANNEL / BUYER_TIER / REASON_CODE when an active rule or policy matches on them
    # (routing.services.facts_wanted): the ticket engine reads a ticket's shop, buyer or reason only then.
    facts_wanted: frozenset[str]


def _load() -> RoutingConfig:
    rules = tuple(
        RoutingRule.objects.filter(active=True)
        .select_related("department", "deadline_policy")
        .order_by("position", "pk")
    )
    named = set(RoutingRule.objects.exclude(deadline_policy=None).values_list("deadline_policy_id", flat=True))
    policies: dict[tuple[str, str], list[DeadlinePolicy]] = defaultdict(list)
    for policy in DeadlinePolicy.objects.filter(active=True).order_by("pk"):
        if policy.pk not in named:
            policies[(policy.kind, policy.state)].append(policy)
    departments = {d.code: d for d in Department.objects.select_related("backup")}
    wanted: set[str] = set()
    if any(rule.channel for rule in rules) or any(p.channel for found in policies.values() for p in found):
        wanted.add(CHANNEL)
    if any(rule.buyer_tier for rule in rules):
        wanted.add(BUYER_TIER)
    if any(rule.reason_codes for rule in rules):
        wanted.add(REASON_CODE)
    return RoutingConfig(
        rules=rules,
        policies={key: tuple(found) for key, found in policies.items()},
        departments=departments,
        facts_wanted=frozenset(wanted),
    )


routing_config = ConfigSnapshot(
    "routing", _load, watch=("routing.RoutingRule", "routing.DeadlinePolicy", "routing.Department")
)


def _load_on_duty() -> frozenset[str]:
    """The codes of the departments with at least one active member on duty, or an on-duty staff member moved
    into them by a reinforcement that has not ended (one starting later or ending soon included: the snapshot
    may name a department where nobody can take a ticket, never leave out one where somebody can)."""
    codes = StaffMember.objects.filter(on_duty=True, user__is_active=True).values_list("departments__code", flat=True)
    reinforced = Reinforcement.objects.filter(
        ended_at=None, ends_at__gt=timezone.now(), user__staff_member__on_duty=True, user__is_active=True
    ).values_list("department__code", flat=True)
    return frozenset(code for code in [*codes, *reinforced] if code is not None)


# Assignment reads this first: where nobody is on duty (nights, weekends) a new ticket is not assigned, and
# looking for a member would lock nothing and find nobody. A member put on duty is seen at once in the
# process that saved them, elsewhere within KEFU_CONFIG_CHECK_SECONDS: a ticket opened in between waits in
# the queue unassigned, as one opened a moment earlier does. Who is free (load, cap, rotation) is always
# read under the members' locks (routing.services.assignee_pick), never from here.
departments_on_duty = ConfigSnapshot(
    "on-duty",
    _load_on_duty,
    watch=("routing.StaffMember", settings.AUTH_USER_MODEL, "routing.Department", "routing.Reinforcement"),
)


def _load_reinforced() -> frozenset[str]:
    """The codes of the departments with a reinforcement that has not ended (nor been ended early)."""
    rows = Reinforcement.objects.filter(ended_at=None, ends_at__gt=timezone.now()).values_list(
        "department__code", flat=True
    )
    return frozenset(rows)


# The assignee picker reads reinforcements' caps (a query) only for a department named here: a desk without
# reinforcements reads nothing more than before. Creating, ending or recording the expiry of a reinforcement saves
# its row, which reloads this; a reinforcement past its end time stays named until then (a superset: the picker
# then reads the reinforcements in force and finds none).
reinforced_departments = ConfigSnapshot("reinforced", _load_reinforced, watch=("routing.Reinforcement",))


def _load_schedules() -> dict[int, Schedule]:
    """Every business-hours calendar as a schedule (kefu.core.business_hours), by calendar id: three queries."""
    calendars = BusinessCalendar.objects.prefetch_related("hours", "days")
    return {calendar.pk: schedule_of(calendar) for calendar in calendars}


def schedule_of(calendar: BusinessCalendar) -> Schedule:
    """``calendar`` (its hours and days prefetched or read here) as the arithmetic's schedule."""
    week: list[list[tuple[time, time]]] = [[] for _ in range(7)]
    for hours in sorted(calendar.hours.all(), key=lambda h: (h.weekday, h.start)):
        # An end of 00:00 is midnight, the day's end (a TimeField holds no 24:00).
        end = time.max if hours.end == time(0) else hours.end
        ranges = week[hours.weekday]
        if ranges and hours.start <= ranges[-1][1]:  # touching or overlapping ranges are one
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((hours.start, end))
    days = list(calendar.days.all())
    return Schedule(
        zone=ZoneInfo(calendar.time_zone),
        week=tuple(tuple(ranges) for ranges in week),
        makeup_weekday=calendar.makeup_weekday,
        closed=frozenset(day.date for day in days if not day.open),
        opened=frozenset(day.date for day in days if day.open),
        holidays=china_day if calendar.china_holidays else no_holidays,
    )


# Read only for a department that has a calendar (its ``calendar_id`` is in routing_config's departments): a
# desk without calendars reads nothing more than before.
calendar_schedules = ConfigSnapshot(
    "calendars",
    _load_schedules,
    watch=("routing.BusinessCalendar", "routing.WorkingHours", "routing.CalendarDay"),
)
