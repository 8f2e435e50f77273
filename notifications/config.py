"""Notification configuration, read once per process (see kefu.core.config_cache): shops' channels, department
robots and message templates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings

from kefu.core.config_cache import ConfigSnapshot
from notifications.models import DepartmentRobot, ShopChannels, Template
from routing.models import StaffMember


@dataclass(frozen=True)
class NotificationConfig:
    shop_channels: dict[int, ShopChannels]  # by shop id; a shop without a row uses the defaults
    robots: dict[str, tuple[DepartmentRobot, ...]]  # active robots by department code
    templates: dict[tuple[str, str, str], tuple[str, str]]  # (event, channel, language) → (subject, body)


def _load() -> NotificationConfig:
    robots: dict[str, list[DepartmentRobot]] = defaultdict(list)
    for robot in DepartmentRobot.objects.filter(active=True).select_related("department").order_by("pk"):
        robots[robot.department.code].append(robot)
    return NotificationConfig(
        shop_channels={row.shop_id: row for row in ShopChannels.objects.all()},
        robots={code: tuple(found) for code, found in robots.items()},
        templates={(t.event, t.channel, t.language): (t.subject, t.body) for t in Template.objects.filter(active=True)},
    )


notification_config = ConfigSnapshot(
    "notifications",
    _load,
    watch=(
        "notifications.ShopChannels",
        "notifications.DepartmentRobot",
        "notifications.Template",
        "routing.Department",  # robots are found by their department's code
    ),
)


# A department without a group robot is told by email, at most this many of its on-duty members.
MAX_DEPARTMENT_EMAILS = 50


def _load_staff_emails() -> dict[str, tuple[str, ...]]:
    emails: dict[str, list[str]] = defaultdict(list)
    rows = (
        StaffMember.objects.filter(on_duty=True, user__is_active=True)
        .exclude(user__email="")
        .order_by("pk")
        .values_list("departments__code", "user__email")
    )
    for code, email in rows:
        if code is not None and len(emails[code]) < MAX_DEPARTMENT_EMAILS:
            emails[code].append(email)
    return {code: tuple(found) for code, found in emails.items()}


# Who is on duty changes during the day (staff_set_on_duty saves the member): a snapshot like the others,
# reloaded when a member, their departments or their user account changes.
staff_emails = ConfigSnapshot(
    "staff-emails",
    _load_staff_emails,
    watch=("routing.StaffMember", settings.AUTH_USER_MODEL, "routing.Department"),
)
