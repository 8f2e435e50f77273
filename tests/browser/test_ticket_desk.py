"""The desk's ticket page and "Open a ticket" in a real browser, in zh-hans at 1366×768 (a common office laptop):

- the page-weight budget: a ticket with 20 timeline entries, its buyer's history, flags and evidence fits in
  1,400 px of height (``document.documentElement.scrollHeight``);
- an agent opens a ticket for a buyer who phoned, found by the buyer's phone number, with a photo.

Screenshots for docs/desk.md: desk-ticket.png, desk-buyer-panel.png, desk-open-ticket.png.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import transaction

from risk.models import RiskPolicy
from risk.services.profiles import buyer_profile_refresh
from tests.browser.conftest import SCREENSHOTS, TIMEOUT_MS, login, screenshot
from tests.browser.test_ticket_admin import PASSWORD, desk_user, png
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build, ticket_reload
from tests.risk.history import past_ticket, refund_of
from tickets import services
from tickets.actors import Actor
from tickets.models import Attachment, Ticket, TicketEvent
from tickets.services.assignment import ticket_claim, ticket_reassign

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DESK = {"width": 1366, "height": 768}
HEIGHT_BUDGET = 1400


@pytest.fixture
def desk_page(browser):
    """A page at 1366×768 in zh-hans (the fixture ``page`` is 1400×900)."""
    context = browser.new_context(viewport=DESK, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def element_screenshot(page, selector: str, name: str) -> None:
    """One element's picture, in the folder ``screenshot`` uses (docs/screenshots/ with KEFU_UPDATE_SCREENSHOTS=1)."""
    folder = (
        SCREENSHOTS
        if os.environ.get("KEFU_UPDATE_SCREENSHOTS") == "1"
        else Path(tempfile.gettempdir()) / "kefu-screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    page.locator(selector).screenshot(path=str(folder / f"{name}.png"))


def busy_ticket(supervisor, agent) -> Ticket:
    """A return of a buyer with history (a refunded and a rejected return, flagged as a serial returner), with a
    photo and 20 timeline entries: claims, hand-backs, a conversation (one long message) and an approval."""
    shop = ShopFactory(code="tb", name="糖果家居 淘宝旗舰店")
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=2)
    buyer = BuyerFactory(shop=shop, name="林小美", phone="13912340001")
    earlier = past_ticket(buyer, days=40, state="refunded")
    refund_of(earlier, "89.00")
    earlier.order.lines.update(refunded_amount=Decimal("89.00"))
    past_ticket(buyer, days=12, state="rejected")
    with transaction.atomic():
        order = OrderFactory(shop=shop, buyer=buyer, number="TB202612010042")
        OrderLineFactory(order=order, sku="KETTLE-17", name="不锈钢电热水壶 1.7L", unit_price=Decimal("159.00"))
        OrderLineFactory(order=order, sku="MUG-BLUE", name="陶瓷马克杯 湖蓝", unit_price=Decimal("39.90"))
        ticket = ticket_build("return", "requested", order=order, description="水壶底部漏水，申请退货退款。")
    buyer_profile_refresh(buyer_id=buyer.pk)
    services.ticket_evidence_attach(
        ticket=ticket,
        actor=Actor.for_buyer(buyer),
        file=ContentFile(png(), name="leak.png"),
        original_name="漏水.png",
        content_type="image/png",
    )
    ops, boss = Actor.staff(agent), Actor.staff(supervisor)
    for _ in range(6):
        ticket = ticket_claim(ticket=ticket_reload(ticket), actor=ops)
        ticket = ticket_reassign(ticket=ticket_reload(ticket), actor=boss, assignee=None)
    conversation = [
        (Actor.for_buyer(buyer), "您好，水壶用了两次底部就开始漏水，桌子都湿了。", True),
        (ops, "您好，非常抱歉给您带来不便，请问方便拍一张漏水位置的照片吗？", True),
        (Actor.for_buyer(buyer), "照片已经上传了。" + "我希望尽快处理，" * 30, True),
        (ops, "已核对照片，底座密封圈问题，属于质量问题。", False),
    ]
    for actor, body, public in conversation:
        services.ticket_comment_add(ticket=ticket, actor=actor, body=body, public=public)
    services.ticket_act(ticket=ticket_reload(ticket), actor=ops, action="approve", reason="同意退货，运费由我们承担。")
    return ticket_reload(ticket)


def test_the_ticket_page_with_20_timeline_entries_fits_the_height_budget(desk_page, live_server, django_user_model):
    supervisor = desk_user(django_user_model, "sup-chen", "supervisors")
    agent = desk_user(django_user_model, "ops-li", "operations")
    ticket = busy_ticket(supervisor, agent)
    assert TicketEvent.objects.filter(ticket_id=ticket.pk).count() == 20
    page = desk_page

    login(page, live_server, "sup-chen", PASSWORD)
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")

    assert page.locator("#kefu-timeline li.kefu-entry").count() == 20
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < HEIGHT_BUDGET, f"the ticket page is {height} px tall at 1366×768 (budget {HEIGHT_BUDGET})"
    # Labels in Chinese, newest first; the long message folded; the buyer's history beside the thread.
    first = page.locator("#kefu-timeline li.kefu-entry").first
    assert first.get_attribute("data-transition") == "approve" and "待审核 → 待寄回" in first.inner_text()
    assert "∅" not in page.locator("#kefu-ticket").inner_text()
    assert page.locator("#kefu-timeline details.kefu-fold").count() == 1
    panel = page.locator("#kefu-buyer")
    assert "3 个订单" in panel.inner_text() and "已退款 ¥89.00" in panel.inner_text()
    assert panel.locator("li[data-flag='serial_returner']").is_visible()
    assert panel.locator("#kefu-earlier li").count() == 2
    screenshot(page, "desk-ticket")
    element_screenshot(page, "#kefu-buyer", "desk-buyer-panel")

    # One click to the buyer's whole history.
    with page.expect_navigation():
        page.click("#kefu-buyer-history")
    assert page.locator("#result_list tbody tr").count() == 3


def test_an_agent_opens_a_ticket_for_a_buyer_who_phoned(desk_page, live_server, django_user_model, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    desk_user(django_user_model, "ops-li", "operations")
    shop = ShopFactory(code="jd", name="糖果家居 京东店")
    buyer = BuyerFactory(shop=shop, name="张伟", phone="13987654321")
    with transaction.atomic():
        order = OrderFactory(shop=shop, buyer=buyer, number="JD202612030007")
        OrderLineFactory(order=order, sku="LAMP-LED", name="LED 护眼台灯", unit_price=Decimal("189.00"))
    photo = tmp_path / "台灯破损.png"
    photo.write_bytes(png())
    page = desk_page

    login(page, live_server, "ops-li", PASSWORD)
    page.goto(f"{live_server.url}/admin/tickets/ticket/")
    page.click("#kefu-open-ticket")
    page.fill("#id_q", "13987654321")
    with page.expect_navigation():
        page.click("#kefu-open-search")
    row = page.locator("#kefu-open-orders tr[data-order='JD202612030007']")
    with page.expect_navigation():
        row.locator("a.button").click()
    page.select_option("#id_kind", "return")
    page.select_option("#id_reason", label="商品破损")
    assert page.locator("#id_reason option:has-text('未收到货')").count() == 1  # a return's reason, offered
    page.fill("#id_description", "电话来电：台灯灯罩运输中破损，要求退货。")
    page.set_input_files("#id_evidence", str(photo))
    screenshot(page, "desk-open-ticket")
    with page.expect_navigation():
        page.click("#kefu-open-submit")

    ticket = Ticket.objects.get(order=order)
    assert "已创建" in page.locator(".messagelist .success").inner_text()
    assert page.locator("#kefu-summary .kefu-head-title").inner_text().endswith(ticket.number)
    assert page.locator("#kefu-timeline li[data-event='created']").is_visible()
    assert Attachment.objects.get(ticket_id=ticket.pk).original_name == "台灯破损.png"
    assert ticket.reason.code == "damaged" and ticket.description == "电话来电：台灯灯罩运输中破损，要求退货。"
