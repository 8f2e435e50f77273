"""Notification configuration, read once per process (see kefu.config_cache): shops' channels, department
robots and message templates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from kefu.config_cache import ConfigSnapshot
from notifications.models import DepartmentRobot, ShopChannels, Template


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
        templates={
            (t.event, t.channel, t.language): (t.subject, t.body) for t in Template.objects.filter(active=True)
        },
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
