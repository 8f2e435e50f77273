"""Queues built as buyers and staff would: complaints opened over the past hours (operations, 2 h to acknowledge)
and acknowledged by an operations member (a step handled), on the frozen ``clock`` (tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.factories.desk import open_complaint, staff, staff_member
from tests.factories.tickets import ticket_reload
from tickets.models import Ticket
from tickets.services import ticket_act


def arrivals(clock: time_machine.Traveller, *, count: int, over: timedelta) -> list[Ticket]:
    """``count`` complaints opened evenly over ``over`` up to the clock's time (which is then where it was)."""
    step = over / count
    clock.shift(-over)
    opened = []
    for _ in range(count):
        clock.shift(step)
        opened.append(open_complaint())
    return opened


def acknowledge(tickets: list[Ticket]) -> None:
    """An operations member acknowledges ``tickets`` now: each ends its first step (a handled ticket)."""
    actor = staff(staff_member("operations"))
    for ticket in tickets:
        ticket_act(ticket=ticket_reload(ticket), actor=actor, action="acknowledge")


@pytest.fixture
def surge_settings(settings):
    settings.KEFU_SURGE_HORIZON_HOURS = 4
    settings.KEFU_SURGE_WINDOW_HOURS = 2
    settings.KEFU_SURGE_ALERT_MIN_BREACHES = 5
    settings.KEFU_SURGE_ALERT_COOLDOWN_MINUTES = 60
    return settings
