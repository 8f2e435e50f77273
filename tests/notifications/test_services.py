"""Who hears about what: the outbox rows each ticket change writes, through the real services.

Recipients per event (SPEC "Notifications"): the buyer through the shop's channels (storefront webhook,
SMS, email), the assignee by email, the department through its group robots or else its on-duty members'
email, supervisors on an SLA breach. Each row carries a de-duplication key and, for the webhook, the
documented JSON body.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Audience, Channel, DepartmentRobot, Event, Notification, ShopChannels
from notifications.services import dedup_key_for, recipients_for
from orders.models import Shop
from routing.models import Department, StaffMember
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor, ticket_build, user_create
from tests.notifications.conftest import open_return, webhook_shop
from tickets.models import Ticket, TicketEvent
from tickets.services import ticket_act, ticket_assign, ticket_comment_add
from tickets.services.deadlines import sweep_due, sweep_warnings

pytestmark = pytest.mark.django_db

HOOK = "https://shop.example.com/kefu/webhook"


def member(department: str, *, email: str | None = None, on_duty: bool = True, active: bool = True):
    """A staff user working in ``department``."""
    user = user_create(email="" if email is None else email, is_active=active)
    staff = StaffMember.objects.create(user=user, on_duty=on_duty)
    staff.departments.set([Department.objects.get(code=department)])
    return user


def robot(department: str, channel: str, url: str, **fields) -> DepartmentRobot:
    return DepartmentRobot.objects.create(
        department=Department.objects.get(code=department), channel=channel, url=url, **fields
    )


def sent_for(ticket: Ticket, *events: str) -> set[tuple[str, str, str]]:
    """(audience, channel, recipient) of the outbox rows of some events of the ticket."""
    rows = Notification.objects.filter(ticket=ticket, event__in=events)
    return set(rows.values_list("audience", "channel", "recipient"))


def test_a_new_ticket_tells_the_buyer_through_the_storefront_and_the_department_through_its_robot() -> None:
    robot("operations", Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ops")
    robot("warehouse", Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wh")  # not theirs
    ticket = open_return(webhook_shop(HOOK))
    # The department is told in staff wording (ticket_arrived), the buyer that the request was received.
    assert sent_for(ticket, Event.TICKET_CREATED, Event.TICKET_ARRIVED) == {
        (Audience.BUYER, Channel.WEBHOOK, HOOK),
        (Audience.DEPARTMENT, Channel.WECOM, "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=ops"),
    }


def test_a_department_without_a_robot_hears_by_email_of_its_on_duty_active_members() -> None:
    member("operations", email="li@example.com")
    member("operations", email="wang@example.com")
    member("operations", email="off@example.com", on_duty=False)
    member("operations", email="gone@example.com", active=False)
    member("operations", email="")
    member("warehouse", email="zhao@example.com")
    robot("operations", Channel.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=x", active=False)
    ticket = open_return(webhook_shop(HOOK))
    department = {r for r in sent_for(ticket, Event.TICKET_ARRIVED) if r[0] == Audience.DEPARTMENT}
    assert department == {
        (Audience.DEPARTMENT, Channel.EMAIL, "li@example.com"),
        (Audience.DEPARTMENT, Channel.EMAIL, "wang@example.com"),
    }


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ({}, {(Channel.WEBHOOK, HOOK, "zh-hans")}),  # the default: webhook only
        ({"webhook": False}, set()),
        (
            {"sms": True, "email": True, "language": "en"},
            {
                (Channel.WEBHOOK, HOOK, "en"),
                (Channel.SMS, "13800000001", "en"),
                (Channel.EMAIL, "b@example.com", "en"),
            },
        ),
    ],
    ids=["default", "webhook-off", "all-three-in-english"],
)
def test_the_buyer_is_told_through_the_channels_the_shop_chose(channels: dict, expected: set) -> None:
    shop = webhook_shop(HOOK)
    if channels:
        ShopChannels.objects.create(shop=shop, **channels)
    buyer = BuyerFactory(shop=shop, phone="13800000001", email="b@example.com")
    ticket = open_return(order=order_with_line(shop=shop, buyer=buyer))
    rows = Notification.objects.filter(ticket=ticket, audience=Audience.BUYER)
    assert set(rows.values_list("channel", "recipient", "language")) == expected


def test_a_shop_without_a_webhook_url_gets_no_webhook() -> None:
    ticket = open_return(ShopFactory(webhook_url="", webhook_secret="s"))
    assert not Notification.objects.filter(ticket=ticket, channel=Channel.WEBHOOK).exists()


def test_a_state_change_tells_the_buyer_and_the_department_the_ticket_moves_to() -> None:
    robot("warehouse", Channel.WECOM, "https://robot.example.com/warehouse")
    ticket = open_return(webhook_shop(HOOK))
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")  # now waiting on the buyer
    assert sent_for(ticket, Event.STATE_CHANGED) == {(Audience.BUYER, Channel.WEBHOOK, HOOK)}

    ticket = ticket_act(
        ticket=ticket, actor=buyer_actor(ticket), action="ship_back", carrier="SF", tracking_number="SF1234567890"
    )
    shipped = TicketEvent.objects.get(ticket_id=ticket.pk, transition="ship_back")
    rows = Notification.objects.filter(timeline_event=shipped)
    assert set(rows.values_list("audience", "channel", "recipient")) == {
        (Audience.BUYER, Channel.WEBHOOK, HOOK),
        (Audience.DEPARTMENT, Channel.WECOM, "https://robot.example.com/warehouse"),
    }


def test_an_ended_ticket_tells_the_buyer_it_is_closed() -> None:
    ticket = open_return(webhook_shop(HOOK))
    ticket = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="cancel")
    assert sent_for(ticket, Event.CLOSED) == {(Audience.BUYER, Channel.WEBHOOK, HOOK)}
    assert sent_for(ticket, Event.STATE_CHANGED) == set()


def test_an_assignment_tells_the_assignee_by_email() -> None:
    ticket = open_return(webhook_shop(HOOK))
    assignee = member("operations", email="li@example.com")
    ticket = ticket_assign(ticket=ticket, actor=staff_actor("supervisors"), assignee=assignee)
    assert sent_for(ticket, Event.ASSIGNED) == {(Audience.ASSIGNEE, Channel.EMAIL, "li@example.com")}
    ticket = ticket_assign(ticket=ticket, actor=staff_actor("supervisors"), assignee=None)
    assert Notification.objects.filter(ticket=ticket, event=Event.ASSIGNED).count() == 1  # unassigning: nobody


def test_a_deadline_warning_goes_to_the_assignee_or_else_the_department() -> None:
    member("operations", email="on-desk@example.com", on_duty=False)  # not picked, not mailed
    robot("operations", Channel.WECOM, "https://robot.example.com/ops")
    nobody = open_return(webhook_shop(HOOK))
    someone = open_return(webhook_shop(HOOK))
    li = member("operations", email="li@example.com")
    someone = ticket_assign(ticket=someone, actor=staff_actor("supervisors"), assignee=li)
    Ticket.objects.filter(pk__in=[nobody.pk, someone.pk]).update(warn_at=timezone.now() - timedelta(minutes=1))

    assert sweep_warnings() == 2
    ops_robot = (Audience.DEPARTMENT, Channel.WECOM, "https://robot.example.com/ops")
    assert sent_for(nobody, Event.DEADLINE_WARNING) == {ops_robot}
    assert sent_for(someone, Event.DEADLINE_WARNING) == {(Audience.ASSIGNEE, Channel.EMAIL, "li@example.com")}


@pytest.mark.parametrize("with_robot", [True, False], ids=["robot", "emails"])
def test_an_sla_breach_tells_the_supervisors(with_robot: bool) -> None:
    if with_robot:
        robot("supervisors", Channel.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=boss", secret="S")
    else:
        member("supervisors", email="boss@example.com")
    ticket = ticket_build("return", "received", order=order_with_line(shop=webhook_shop(HOOK)))  # 24 h internal SLA
    Ticket.objects.filter(pk=ticket.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    assert sweep_due().escalated == 1
    expected = (
        (Audience.SUPERVISORS, Channel.DINGTALK, "https://oapi.dingtalk.com/robot/send?access_token=boss")
        if with_robot
        else (Audience.SUPERVISORS, Channel.EMAIL, "boss@example.com")
    )
    assert sent_for(ticket, Event.SLA_BREACHED) == {expected}


def test_a_public_comment_goes_to_the_other_side_and_an_internal_note_to_nobody() -> None:
    member("operations", email="li@example.com")  # on duty: assigned at opening
    ticket = open_return(webhook_shop(HOOK))
    assert ticket.assignee is not None

    by_buyer = ticket_comment_add(ticket=ticket, actor=buyer_actor(ticket), body="什么时候处理？")
    by_staff = ticket_comment_add(ticket=ticket, actor=staff_actor("operations"), body="今天处理")
    note = ticket_comment_add(ticket=ticket, actor=staff_actor("operations"), body="先别退", public=False)

    def told(event: TicketEvent) -> set[tuple[str, str, str]]:
        return set(Notification.objects.filter(timeline_event=event).values_list("audience", "channel", "recipient"))

    assert told(by_buyer) == {(Audience.ASSIGNEE, Channel.EMAIL, "li@example.com")}
    assert told(by_staff) == {(Audience.BUYER, Channel.WEBHOOK, HOOK)}
    assert told(note) == set()
    row = Notification.objects.get(timeline_event=by_staff)
    assert row.event == Event.PUBLIC_COMMENT
    assert "今天处理" in row.body


def test_the_webhook_body_has_the_documented_fields_and_its_id_is_the_dedup_key() -> None:
    shop: Shop = webhook_shop(HOOK, code="tmall-flagship")
    ticket = open_return(shop)
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="同意退货")
    row = Notification.objects.get(ticket=ticket, event=Event.STATE_CHANGED)
    event = row.timeline_event
    assert row.payload == {
        "id": row.dedup_key,
        "event": "state_changed",
        "occurred_at": event.created_at.isoformat(),
        "sequence": event.pk,
        "shop": "tmall-flagship",
        "ticket": {
            "number": ticket.number,
            "version": ticket.version,
            "kind": "return",
            "state": "awaiting_return",
            "order_number": ticket.order.number,
            "buyer_id": ticket.buyer.external_id,
            "due_at": ticket.due_at.isoformat(),  # the buyer must act: ship the goods back by then
        },
        "data": {
            "transition": "approve",
            "from_state": "requested",
            "to_state": "awaiting_return",
            "reason": "同意退货",
            "actor": "staff",
        },
    }


def test_dedup_keys_are_one_per_event_and_recipient_and_stable() -> None:
    ticket = open_return(webhook_shop(HOOK))
    robot("operations", Channel.WECOM, "https://robot.example.com/ops")
    rows = list(Notification.objects.filter(ticket=ticket))
    event = rows[0].timeline_event
    again = [dedup_key_for(event, r) for r in recipients_for(Event.TICKET_CREATED, event, ticket)]
    assert rows[0].dedup_key in again  # recomputed from the same event and recipient: the same key
    assert len(set(again)) == len(again)
    assert Notification.objects.values("dedup_key").distinct().count() == Notification.objects.count()
