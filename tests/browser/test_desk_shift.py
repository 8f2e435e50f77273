"""A full shift at the after-sales desk in a real browser (Debian's chromium), in Chinese at 1366×768, the way
issue 15 asks it to be proven: an operations agent works the queue by keyboard, applies a macro, opens a ticket
for a buyer who phoned, looks at that buyer's history and resolves the complaint; the buyer answers the
satisfaction request from the link in their SMS, without an account; the supervisor exports the day's figures,
which count the agent's ticket and the buyer's score.

Each screen has its own test and screenshot (test_queue, test_replies, test_ticket_desk, test_quality); this one
follows one agent's day through all of them, each step through the page a person would use.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import transaction
from openpyxl import load_workbook

from desk.demo.replies import RETURN_ADDRESSES, replies_seed
from notifications.models import Event, Notification
from orders.models import Channel
from quality.models import FollowUp, Survey
from tests.browser.conftest import TIMEOUT_MS, login
from tests.browser.test_ticket_admin import PASSWORD, desk_user
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory
from tests.factories.tickets import buyer_actor, ticket_build
from tests.quality.support import sms_shop
from tests.risk.history import past_ticket
from tickets.models import Ticket
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DESK = {"width": 1366, "height": 768}
MACRO = "同意退货 · 发退货地址 · 请买家填单号"
CALLER_PHONE = "13987654321"


def an_order(shop, number: str, buyer):
    with transaction.atomic():
        order = OrderFactory(shop=shop, buyer=buyer, number=number)
        OrderLineFactory(order=order, sku="LAMP-LED", name="LED 护眼台灯", unit_price=Decimal("189.00"))
    return order


def act(page, action: str, **inputs: str) -> None:
    """Run a transition from the ticket page's "what you can do now": open its form if it has inputs, fill them,
    submit, and wait for the page to come back."""
    form = page.locator(f"#kefu-actions form[data-action='{action}']")
    summary = page.locator(f"#kefu-actions details:has(form[data-action='{action}']) > summary")
    if summary.count() and not form.is_visible():
        summary.click()
    for name, value in inputs.items():
        form.locator(f"[name='{action}-{name}']").fill(value)  # the form's prefix is the action
    with page.expect_navigation():
        form.locator("button[type=submit], input[type=submit]").first.click()


def test_a_shift_at_the_desk(browser, live_server, django_user_model, settings, tmp_path) -> None:
    settings.KEFU_PUBLIC_BASE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    li = desk_user(django_user_model, "ops-li", "operations")
    desk_user(django_user_model, "sup-chen", "supervisors")
    shop = sms_shop(
        code="demo-taobao",
        name="糖果家居 淘宝旗舰店",
        channel=Channel.TAOBAO,
        return_address=RETURN_ADDRESSES["demo-taobao"],
    )
    replies_seed()
    returner = BuyerFactory(shop=shop, name="林小美", phone="13912340001")
    with transaction.atomic():
        shoe_return = ticket_build(
            "return", "requested", order=an_order(shop, "TB202612070001", returner), description="鞋底开胶，要求退货。"
        )
    caller = BuyerFactory(shop=shop, name="张伟", phone=CALLER_PHONE)
    past_ticket(caller, days=40, state="refunded")  # the caller's history: an earlier return, refunded
    lamp_order = an_order(shop, "TB202612070002", caller)

    agent = browser.new_context(viewport=DESK, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    agent.set_default_timeout(TIMEOUT_MS)
    page = agent.new_page()
    login(page, live_server, "ops-li", PASSWORD)

    # 1. The queue, by keyboard: "2" is my team's unassigned tickets; j selects, c claims, Enter opens.
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    assert page.locator("#site-name").inner_text() == "kefu 售后"
    with page.expect_navigation():
        page.keyboard.press("2")
    assert "view=team" in page.url
    assert page.locator("#kefu-queue-tabs a[data-view=team] .kefu-tab-count").inner_text() == "1"
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("c")
    assert Ticket.objects.get(pk=shoe_return.pk).assignee == li
    with page.expect_navigation():
        page.keyboard.press("1")  # mine
    page.keyboard.press("j")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"/{shoe_return.pk}/change/" in page.url
    assert page.locator("#kefu-claim").count() == 0  # mine already: no claim offered

    # 2. A macro: approve the return, send the return address, ask for the tracking number, in one click.
    page.keyboard.press("m")
    assert page.evaluate("document.activeElement.id") == "kefu-macro-select"
    page.select_option("#kefu-macro-select", label=MACRO)
    with page.expect_navigation():
        page.click("#kefu-macro-apply")
    assert f"已执行宏“{MACRO}”" in page.locator(".messagelist .success").inner_text()
    assert Ticket.objects.get(pk=shoe_return.pk).state == "awaiting_return"
    # The return now waits on the buyer's parcel: it has left operations' queue (the warehouse takes it when the
    # parcel arrives), so the agent is back on the list with the outcome, and the buyer has been told.
    told = set(Notification.objects.filter(ticket_id=shoe_return.pk).values_list("event", flat=True))
    assert {"public_comment", "state_changed"} <= told

    # 3. The phone rings: 张伟 has a complaint about his lamp. Find him by phone and open a ticket for him.
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    page.click("#kefu-open-ticket")
    page.fill("#id_q", CALLER_PHONE)
    with page.expect_navigation():
        page.click("#kefu-open-search")
    with page.expect_navigation():
        page.locator("#kefu-open-orders tr[data-order='TB202612070002'] a.button").click()
    page.select_option("#id_kind", "complaint")
    page.select_option("#id_reason", label="质量问题")
    page.select_option("#id_category", label="商品质量")
    page.fill("#id_description", "电话来电：台灯开关失灵，客服态度差，要求处理。")
    with page.expect_navigation():
        page.click("#kefu-open-submit")
    assert not page.locator(".errorlist, .errornote").count(), page.locator("#content").inner_text()
    complaint = Ticket.objects.get(order=lamp_order)
    assert page.locator("#kefu-summary .kefu-head-title").inner_text().endswith(complaint.number)

    # 4. Who is calling: the buyer panel shows the earlier return; one click to the whole history.
    assert page.locator("#kefu-buyer #kefu-earlier li").count() == 1
    with page.expect_navigation():
        page.click("#kefu-buyer-history")
    assert page.locator("#result_list tbody tr").count() == 2
    page.go_back()

    # 5. Work it to a resolution: claim (c), acknowledge, investigate, propose; the buyer accepts in the shop.
    if page.locator("#kefu-claim").count():
        with page.expect_navigation():
            page.keyboard.press("c")
    act(page, "acknowledge")
    act(page, "investigate")
    act(page, "propose_resolution", resolution="补发新开关并赠送 10 元优惠券")
    assert Ticket.objects.get(pk=complaint.pk).state == "resolution_proposed"
    complaint = Ticket.objects.get(pk=complaint.pk).as_kind()
    ticket_act(ticket=complaint, actor=buyer_actor(complaint), action="accept_resolution")  # the storefront's call
    assert Ticket.objects.get(pk=complaint.pk).state == "closed"

    # 6. 回访: the buyer's SMS carries a signed link; they answer on their phone, without an account.
    sms = Notification.objects.get(ticket_id=complaint.pk, event=Event.SATISFACTION_REQUEST)
    link = re.search(r"http://\S+/survey/[^/\s]+/", sms.body)
    assert link, sms.body
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone.set_default_timeout(TIMEOUT_MS)
    buyer_page = phone.new_page()
    buyer_page.goto(link.group(0))
    buyer_page.click("label[for=score-5]")
    buyer_page.fill("#survey-comment", "处理很快，谢谢")
    buyer_page.click("#survey-submit")
    buyer_page.wait_for_selector("#survey-thanks")
    phone.close()
    survey = Survey.objects.get(ticket_id=complaint.pk)
    assert (survey.score, survey.comment) == (5, "处理很快，谢谢")
    assert not FollowUp.objects.filter(ticket_id=complaint.pk).exists()  # a good score opens no follow-up
    agent.close()

    # 7. End of the day: the supervisor exports the day's figures; the agent's resolved complaint and its score.
    boss = browser.new_context(viewport=DESK, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    boss.set_default_timeout(TIMEOUT_MS)
    page = boss.new_page()
    login(page, live_server, "sup-chen", PASSWORD)
    page.goto(f"{live_server.url}/admin/dashboard/quality/?preset=today")
    with page.expect_download() as info:
        page.click("#export-figures-xlsx")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    boss.close()
    rows = [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    header = rows[0]
    handled, score = header.index("已处理"), header.index("平均满意度")
    agents = {row[1]: row for row in rows[1:] if row[0] == "客服"}
    assert "ops-li" in agents, rows
    assert agents["ops-li"][handled] == 1 and float(agents["ops-li"][score]) == 5.0
