"""Canned replies and macros in a real browser, in zh-hans (docs/desk.md, screenshots desk-replies.png and
desk-macro.png at 1366×768).

An operations agent types a keyword in the reply picker, picks a reply (rendered for the ticket: the buyer's
name, the order, the shop's return address), edits nothing and sends it; the buyer's message is in the outbox.
A supervisor applies the macro "approve return, send the address, ask for the tracking number": the ticket is
awaiting the return, the reply is on the timeline, and the buyer's messages (the reply and the new state) are in
the outbox.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from desk.demo.replies import RETURN_ADDRESSES, replies_seed
from notifications.models import Audience, Notification, ShopChannels
from orders.models import Channel
from tests.browser.conftest import login, screenshot
from tests.browser.test_ticket_admin import PASSWORD, desk_user
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MACRO = "同意退货 · 发退货地址 · 请买家填单号"


def a_return(shop, n: int, buyer: str, description: str) -> Ticket:
    with transaction.atomic():
        order = OrderFactory(
            shop=shop,
            buyer=BuyerFactory(shop=shop, name=buyer, phone=f"1391234{n:04d}"),
            number=f"TB2026030{n:04d}",
        )
        OrderLineFactory(order=order, sku=f"SHOE-{n}", name="轻量跑步鞋 42码", unit_price=Decimal("399.00"))
        made = ticket_build("return", "requested", order=order, description=description)
    services.ticket_comment_add(ticket=made, actor=Actor.for_buyer(made.buyer), body="鞋底开胶了，怎么退？")
    return made


def test_an_agent_picks_a_reply_and_a_supervisor_applies_a_macro(page, live_server, django_user_model) -> None:
    desk_user(django_user_model, "ops-li", "operations")
    desk_user(django_user_model, "sup-chen", "supervisors")
    shop = ShopFactory(
        code="demo-taobao",
        name="糖果家居 淘宝旗舰店",
        channel=Channel.TAOBAO,
        return_address=RETURN_ADDRESSES["demo-taobao"],
        webhook_url="https://storefront.example/kefu-hook",
        webhook_secret="s" * 32,
    )
    ShopChannels.objects.create(shop=shop, language="zh-hans")
    replies_seed()
    first = a_return(shop, 1, "林小美", "鞋底开胶，要求退货。")
    second = a_return(shop, 2, "张伟", "尺码不合适。")
    page.set_viewport_size({"width": 1366, "height": 768})

    # An agent: type a keyword, pick the reply, send it.
    login(page, live_server, "ops-li", PASSWORD)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{first.pk}/change/")
    search = page.locator("#kefu-reply-search[data-shortcut='q']")
    assert search.get_attribute("data-shortcut-label") == "搜索快捷短语"
    search.fill("单号")
    picked = page.locator("#kefu-reply-results button", has_text="催填物流单号")
    picked.wait_for()
    assert page.locator("#kefu-reply-results button", has_text="退货地址").count() == 1  # the body says 单号 too
    assert "林小美" in picked.inner_text()
    search.fill("退货地址")
    page.locator("#kefu-reply-results button").first.wait_for()
    page.wait_for_function("() => document.querySelectorAll('#kefu-reply-results button').length === 1")
    page.click("#toggle-nav-sidebar")  # folded away for room, as agents do
    page.locator("#kefu-reply-tools").evaluate("tools => window.scrollBy(0, tools.getBoundingClientRect().top - 420)")
    screenshot(page, "desk-replies", full_page=False)
    page.click("#toggle-nav-sidebar")
    page.locator("#kefu-reply-results button").first.click()
    box = page.locator("#id_comment_body")
    text = box.input_value()
    assert text.startswith("亲，林小美您好！您在订单 TB20260300001 的退货申请已同意")
    assert RETURN_ADDRESSES["demo-taobao"] in text and "¥399.00" in text
    assert page.locator("#id_comment_public").is_checked()
    box.fill(text + "有问题随时联系我们。")  # the agent may edit before sending
    with page.expect_navigation():
        page.locator("#kefu-comment button[type=submit]").click()
    assert "买家可见" in page.locator(".messagelist .success").inner_text()
    sent = Notification.objects.get(ticket_id=first.pk, audience=Audience.BUYER, event="public_comment")
    assert RETURN_ADDRESSES["demo-taobao"] in sent.body and sent.body.endswith("有问题随时联系我们。")

    # A supervisor: the macro menu offers what applies now; one click approves, replies, notes.
    page.context.clear_cookies()
    login(page, live_server, "sup-chen", PASSWORD)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{second.pk}/change/")
    menu = page.locator("#kefu-macro-select[data-shortcut='m']")
    offered = menu.locator("option").all_inner_texts()
    assert MACRO in offered and "仓库签收 · 检验通过" not in offered  # not in this state
    menu.select_option(label=MACRO)
    with page.expect_navigation():
        page.locator("#kefu-macro-apply").click()
    assert f"已执行宏“{MACRO}”" in page.locator(".messagelist .success").inner_text()
    assert second.number in page.locator(".messagelist .success").inner_text()
    assert Ticket.objects.get(pk=second.pk).state == "awaiting_return"
    timeline = page.locator("#kefu-timeline")
    assert timeline.locator("li.kefu-entry[data-transition='approve']").count() == 1
    assert "张伟您好" in timeline.inner_text()
    # The buyer's messages are in the outbox: the reply and the state change.
    outbox = page.locator("#kefu-notifications ul.kefu-notes")
    assert outbox.locator("li", has_text="公开留言").count() == 1, outbox.inner_text()
    assert outbox.locator("li", has_text="状态变更").count() == 1, outbox.inner_text()
    told = Notification.objects.filter(ticket_id=second.pk, audience=Audience.BUYER)
    assert set(told.values_list("event", flat=True)) >= {"public_comment", "state_changed"}
    page.click("#toggle-nav-sidebar")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desk-macro", full_page=False)
    page.click("#toggle-nav-sidebar")
