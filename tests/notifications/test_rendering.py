"""Message templates per event, channel and language: the shipped defaults, and supervisors' edits in the
database overriding them (a channel's own template before the event's channel-less one).
"""

from __future__ import annotations

import pytest
from django.utils import timezone, translation

from notifications.defaults import DEFAULT_TEMPLATES
from notifications.models import Channel, Event, Language, Notification, ShopChannels, Template
from notifications.rendering import render, template_for
from tests.factories.orders import BuyerFactory
from tests.factories.tickets import order_with_line, staff_actor
from tests.notifications.conftest import open_return, webhook_shop
from tickets.models import Ticket
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db

HOOK = "https://shop.example.com/kefu/webhook"


def buyer_message(ticket: Ticket, event: str, channel: str = Channel.WEBHOOK) -> Notification:
    return Notification.objects.get(ticket=ticket, event=event, channel=channel)


def label(ticket: Ticket, language: str) -> str:
    with translation.override(language):
        return ticket.state_label()


def test_every_event_ships_an_editable_template_in_both_languages() -> None:
    shipped = set(Template.objects.filter(channel="", active=True).values_list("event", "language"))
    assert shipped == {(e.value, lang.value) for e in Event for lang in Language}
    assert set(DEFAULT_TEMPLATES) == shipped  # and the code's fallback has the same


def test_the_default_chinese_message_names_the_ticket_order_and_state() -> None:
    ticket = open_return(webhook_shop(HOOK))
    row = buyer_message(ticket, Event.TICKET_CREATED)
    assert row.language == "zh-hans"
    assert row.subject == f"售后单 {ticket.number} 已受理"
    assert f"订单 {ticket.order.number}" in row.body
    assert f"单号 {ticket.number}" in row.body
    assert f"当前状态：{label(ticket, 'zh-hans')}" in row.body
    assert f"我们将在 {timezone.localtime(ticket.due_at):%Y-%m-%d %H:%M} 前处理" in row.body  # shop's local time


def test_a_shop_set_to_english_gets_english_messages_with_the_reason() -> None:
    shop = webhook_shop(HOOK)
    ShopChannels.objects.create(shop=shop, language=Language.EN)
    ticket = open_return(shop)
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="photos show wear")
    row = buyer_message(ticket, Event.STATE_CHANGED)
    assert row.subject == f"{ticket.number}: {label(ticket, 'en')}"
    assert row.body.startswith(f"Ticket {ticket.number} (order {ticket.order.number}) is now {label(ticket, 'en')}.")
    assert "Note: photos show wear." in row.body


def test_a_template_edited_in_the_database_is_used_for_the_next_message() -> None:
    Template.objects.filter(event=Event.TICKET_CREATED, channel="", language="zh-hans").update(
        subject="【{{ shop.name }}】新售后单", body="{{ buyer.name }}，您好：{{ ticket.number }} 已收到。"
    )
    shop = webhook_shop(HOOK, name="旗舰店")
    buyer = BuyerFactory(shop=shop, name="张三")
    ticket = open_return(order=order_with_line(shop=shop, buyer=buyer))
    row = buyer_message(ticket, Event.TICKET_CREATED)
    assert (row.subject, row.body) == ("【旗舰店】新售后单", f"张三，您好：{ticket.number} 已收到。")


def test_a_channels_own_template_beats_the_channel_less_one() -> None:
    sms = "【{{ shop.name }}】{{ ticket.number }}"
    Template.objects.create(event=Event.TICKET_CREATED, channel=Channel.SMS, language="zh-hans", body=sms)
    shop = webhook_shop(HOOK, name="旗舰店")
    ShopChannels.objects.create(shop=shop, sms=True)
    ticket = open_return(order=order_with_line(shop=shop, buyer=BuyerFactory(shop=shop, phone="13800000002")))
    assert buyer_message(ticket, Event.TICKET_CREATED, Channel.SMS).body == f"【旗舰店】{ticket.number}"
    assert buyer_message(ticket, Event.TICKET_CREATED, Channel.WEBHOOK).subject == f"售后单 {ticket.number} 已受理"


def test_an_inactive_template_falls_back_to_the_shipped_default() -> None:
    Template.objects.filter(event=Event.STATE_CHANGED, language="en").update(active=False, subject="unused {{ x }}")
    assert template_for(Event.STATE_CHANGED, Channel.EMAIL, "en") == DEFAULT_TEMPLATES[(Event.STATE_CHANGED, "en")]


def test_rendering_uses_the_ticket_context_and_does_not_html_escape() -> None:
    ticket = open_return(webhook_shop(HOOK))
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason='<ok> & "go" it\'s')
    row = buyer_message(ticket, Event.STATE_CHANGED)
    assert '说明：<ok> & "go" it\'s。' in row.body  # plain text for SMS, email, webhook: no &lt; or &#x27;
    subject, body = render(
        Event.PUBLIC_COMMENT, Channel.EMAIL, "en", {"ticket": {"number": "R-1"}, "comment": "Parcel found"}
    )
    assert (subject, body) == ("New reply on R-1", "New reply on ticket R-1: Parcel found")
