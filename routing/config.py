"""Routing's configuration, read once per process (see kefu.core.config_cache): rules, policies, departments."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from kefu.core.config_cache import ConfigSnapshot
from routing.models import DeadlinePolicy, Department, RoutingRule, StaffMember


@dataclass(frozen=True)
class RoutingConfig:
    rules: tuple[RoutingRule, ...]  # active, first match wins (position, pk)
    # Active policies no routing rule names, by (kind, state): a rule's policy applies only through it.
    policies: dict[tuple[str, str], tuple[DeadlinePolicy, ...]]
    departments: dict[str, Department]  # by code, with the backup pool joined


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
    return RoutingConfig(
        rules=rules,
        policies={key: tuple(found) for key, found in policies.items()},
        departments=departments,
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
