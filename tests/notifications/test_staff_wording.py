"""What people read when the system acts (issue 12, "Wording seen by people").

- The deadline sweep's reasons reach each reader in their language: a Chinese shop's buyer reads Chinese, an
  English one English, the storefront API and the admin timeline answer in the caller's language.
- A department's robot is told about a ticket in staff wording, not with the buyer's "your request …".
- When a deadline runs out and the system acts (auto-approve, auto-close), the merchant's staff are told.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import translation

from notifications.models import Audience, Channel, Event, Notification, ShopChannels
from tests.factories.tickets import ticket_build
from tests.notifications.conftest import open_return, webhook_shop
from tests.notifications.test_services import robot
from tickets.models import Ticket, TicketEvent
from tickets.services.deadlines import sweep_due
from tickets.wording import actor_label, event_reason

pytestmark = pytest.mark.django_db

HOOK = "https://shop.example.com/kefu/webhook"
OPS_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ops"


def auto_approved(clock, language: str) -> Ticket:
    """A return the buyer asked for, approved by the sweep 48 h later; the shop's buyers read ``language``."""
    shop = webhook_shop(HOOK)
    ShopChannels.objects.create(shop=shop, language=language)
    ticket = open_return(shop)
    clock.shift(timedelta(hours=48, seconds=1))
    assert sweep_due().transitioned == 1
    return ticket


def buyer_message(ticket: Ticket) -> Notification:
    return Notification.objects.get(ticket=ticket, audience=Audience.BUYER, event=Event.STATE_CHANGED)


def test_the_sweep_s_reason_reaches_a_chinese_buyer_in_chinese(clock) -> None:
    message = buyer_message(auto_approved(clock, "zh-hans"))
    assert "Deadline passed" not in message.body
    assert "已超时" in message.body and "同意" in message.body, message.body
    assert "已超时" in message.payload["data"]["reason"]


def test_the_sweep_s_reason_reaches_an_english_buyer_in_english(clock) -> None:
    message = buyer_message(auto_approved(clock, "en"))
    assert "Deadline passed (Requested was due at 2026-03-04 09:00)" in message.body, message.body
    assert "超时" not in message.body


def test_the_timeline_entry_reads_in_the_reader_s_language(clock) -> None:
    ticket = auto_approved(clock, "zh-hans")
    event = TicketEvent.objects.get(ticket_id=ticket.pk, transition="approve")
    assert event.payload["reason_code"] == "deadline_acted"
    with translation.override("en"):
        assert event_reason(event).startswith("Deadline passed (Requested was due at")
        assert actor_label(event.actor_name) == "deadline sweep"
    with translation.override("zh-hans"):
        assert "已超时" in event_reason(event)
        assert actor_label(event.actor_name) == "超时处理"
    assert "已超时" in event.reason  # stored in the site's language (LANGUAGE_CODE) for searches


def test_a_department_robot_gets_staff_wording_when_a_ticket_opens_for_it() -> None:
    robot("operations", Channel.WECOM, OPS_ROBOT)
    ticket = open_return(webhook_shop(HOOK))
    to_robot = Notification.objects.get(ticket=ticket, recipient=OPS_ROBOT)
    assert to_robot.event == Event.TICKET_ARRIVED
    assert "您的" not in to_robot.body
    assert ticket.number in to_robot.body and "运营" in to_robot.body, to_robot.body
    buyer = Notification.objects.get(ticket=ticket, audience=Audience.BUYER)
    assert (buyer.event, "您的" in buyer.body) == (Event.TICKET_CREATED, True)


def test_a_department_robot_gets_staff_wording_in_english(settings) -> None:
    settings.LANGUAGE_CODE = "en"
    robot("operations", Channel.WECOM, OPS_ROBOT)
    ticket = open_return(webhook_shop(HOOK))
    to_robot = Notification.objects.get(ticket=ticket, recipient=OPS_ROBOT)
    assert to_robot.body.startswith(f"Return / refund {ticket.number}")
    assert "needs Operations" in to_robot.body and "Your " not in to_robot.body


def test_the_merchant_s_staff_are_told_when_the_sweep_approves_for_them(clock) -> None:
    robot("operations", Channel.WECOM, OPS_ROBOT)
    ticket = auto_approved(clock, "en")
    told = Notification.objects.get(ticket=ticket, event=Event.DEADLINE_ACTED)
    assert (told.audience, told.recipient, told.language) == (Audience.DEPARTMENT, OPS_ROBOT, "zh-hans")
    assert ticket.number in told.body and "系统已自动处理" in told.body and "同意" in told.body, told.body


def test_the_merchant_s_staff_are_told_when_the_sweep_closes_a_complaint(clock, settings) -> None:
    settings.LANGUAGE_CODE = "en"
    robot("operations", Channel.WECOM, OPS_ROBOT)
    ticket = ticket_build("complaint", "resolution_proposed")
    clock.shift(timedelta(hours=72, seconds=1))
    assert sweep_due().transitioned == 1
    told = Notification.objects.get(ticket=ticket, event=Event.DEADLINE_ACTED)
    assert told.body.startswith(f"Ticket {ticket.number} (order ")
    assert "the system acted" in told.body and "Close (buyer did not answer in time) automatically" in told.body
