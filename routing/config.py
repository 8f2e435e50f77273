"""Routing's configuration, read once per process (see kefu.core.config_cache): rules, policies, departments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from kefu.core.config_cache import ConfigSnapshot
from routing.models import DeadlinePolicy, Department, RoutingRule, StaffMember

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
    """The codes of the departments with at least one active member on duty."""
    codes = StaffMember.objects.filter(on_duty=True, user__is_active=True).values_list("departments__code", flat=True)
    return frozenset(code for code in codes if code is not None)


# Assignment reads this first: where nobody is on duty (nights, weekends) a new ticket is not assigned, and
# looking for a member would lock nothing and find nobody. A member put on duty is seen at once in the
# process that saved them, elsewhere within KEFU_CONFIG_CHECK_SECONDS: a ticket opened in between waits in
# the queue unassigned, as one opened a moment earlier does. Who is free (load, cap, rotation) is always
# read under the members' locks (routing.services.assignee_pick), never from here.
departments_on_duty = ConfigSnapshot(
    "on-duty",
    _load_on_duty,
    watch=("routing.StaffMember", settings.AUTH_USER_MODEL, "routing.Department"),
)
