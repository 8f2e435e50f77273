"""Working the queue by keyboard in a real browser (Debian's chromium), in Chinese at 1366×768: the view tabs and
their counts, j/k/Enter/c, the "?" overlay, next ticket in the view from the ticket page, and the counts and rows
refreshing by themselves after another agent's claim without losing the selected row. Screenshots for
docs/desk.md: docs/screenshots/desk-queue.png and desk-shortcuts.png (with KEFU_UPDATE_SCREENSHOTS=1).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from orders.models import Channel
from risk.models import RiskPolicy
from risk.services.profiles import buyer_profile_refresh
from tests.browser.conftest import login, screenshot
from tests.browser.test_ticket_admin import PASSWORD, desk_user
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services.assignment import ticket_claim

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LIST = "/admin/tickets/ticket/"
ITEMS = [
    ("SHOE-RUN-42", "轻量跑步鞋 42码", "399.00"),
    ("KETTLE-17", "不锈钢电热水壶 1.7L", "159.00"),
    ("MUG-BLUE", "陶瓷马克杯 湖蓝", "39.90"),
    ("LAMP-LED", "LED 护眼台灯", "189.00"),
]


def agent(django_user_model, username: str, name: str, department: str = "operations"):
    """A member of ``department`` (tests/browser/test_ticket_admin.py's desk user) shown by a name of their own."""
    user = desk_user(django_user_model, username, department)
    user.first_name = name
    user.save(update_fields=["first_name"])
    return user


class Queue:
    """Operations' tickets in two shops with deadlines from two days away to hours overdue."""

    def __init__(self) -> None:
        self.shops = [
            ShopFactory(code="tb", name="糖果家居 淘宝旗舰店", channel=Channel.TAOBAO),
            ShopFactory(code="jd", name="糖果家居 京东店", channel=Channel.JD),
        ]
        RiskPolicy.objects.create(shop=self.shops[0], serial_returns_30d=3)
        self.n = 0

    def ticket(self, kind: str, state: str, *, hours: float, buyer=None, assignee=None, **fields) -> Ticket:
        i = self.n
        self.n += 1
        shop = buyer.shop if buyer else self.shops[i % 2]
        sku, name, price = ITEMS[i % len(ITEMS)]
        buyer = buyer or BuyerFactory(shop=shop, name=["林小美", "张伟", "王芳", "李娜", "陈杰", "赵磊"][i % 6])
        with transaction.atomic():
            order = OrderFactory(shop=shop, buyer=buyer, number=f"{shop.code.upper()}2026120{i:04d}")
            OrderLineFactory(order=order, sku=sku, name=name, unit_price=Decimal(price), quantity=1)
            ticket = ticket_build(kind, state, order=order, **fields)
        due = timezone.now() + timedelta(hours=hours)
        Ticket.objects.filter(pk=ticket.pk).update(step_due_at=due, due_at=due, assignee=assignee)
        return Ticket.objects.get(pk=ticket.pk)


def counts(page) -> dict[str, int]:
    found = {}
    for tab in page.locator("#kefu-queue-tabs a[data-view]").all():
        count = tab.locator(".kefu-tab-count")
        if count.count():
            found[tab.get_attribute("data-view")] = int(count.inner_text())
    return found


def selected_number(page) -> str:
    return page.locator("#result_list tbody tr.kefu-selected th .kefu-number").inner_text()


def numbers(page) -> list[str]:
    return page.locator("#result_list tbody th .kefu-number").all_inner_texts()


def test_an_agent_works_the_queue_by_keyboard_and_sees_another_agents_claim(
    page, live_server, django_user_model, settings
) -> None:
    settings.KEFU_QUEUE_POLL_SECONDS = 1  # the page polls every second here (20 s in production)
    lin = agent(django_user_model, "ops-lin", "林")
    wang = agent(django_user_model, "ops-wang", "王")
    q = Queue()
    late = q.ticket("complaint", "open", hours=-2, description="物流太慢，要求赔偿")
    soon = q.ticket("return", "requested", hours=0.75)
    zhou = BuyerFactory(shop=q.shops[0], name="周退退")
    serial = [
        q.ticket("return", "requested", hours=h, buyer=zhou, description="不退款就给差评", assignee=a)
        for h, a in ((3.5, None), (30, wang), (50, wang))
    ]
    later = q.ticket("return", "requested", hours=50)
    mine = q.ticket("return", "requested", hours=3, assignee=lin)
    escalated = q.ticket("return", "requested", hours=-5)
    Ticket.objects.filter(pk=escalated.pk).update(
        department="supervisors", step_department="operations", escalation_level=1, priority=30
    )
    buyer_profile_refresh(buyer_id=zhou.pk)
    team = [late, soon, serial[0], later]  # unassigned, operations', most urgent first

    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, live_server, "ops-lin", PASSWORD)
    page.goto(f"{live_server.url}{LIST}")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert counts(page) == {"mine": 1, "team": 4, "due_soon": 1, "overdue": 2, "buyer": 0, "escalated": 1}
    assert page.locator("#kefu-queue-tabs").inner_text().split()[:3] == ["全部", "我的", "1"]
    rows = {n: page.locator(f"#result_list tbody tr:has(.kefu-number:text-is('{n}'))") for n in numbers(page)}
    assert re.fullmatch(r"超时 2 小时( 1 分钟)?", rows[late.number].locator(".kefu-chip").inner_text())
    assert "kefu-chip--overdue" in rows[late.number].locator(".kefu-chip").get_attribute("class")
    assert re.fullmatch(r"剩 4[45] 分钟", rows[soon.number].locator(".kefu-chip").inner_text())
    assert "kefu-chip--urgent" in rows[soon.number].locator(".kefu-chip").get_attribute("class")
    assert "kefu-chip--soon" in rows[serial[0].number].locator(".kefu-chip").get_attribute("class")
    assert "kefu-chip--calm" in rows[later.number].locator(".kefu-chip").get_attribute("class")
    assert "连续退货" in rows[serial[0].number].locator("td.field-risk").inner_text()
    assert rows[mine.number].locator("td.field-channel").inner_text() in ("淘宝", "京东")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.click("#toggle-nav-sidebar")  # folded away for room, as at a 1366 px desk; it stays folded
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "desk-queue", full_page=False)

    # 2: my team's unassigned tickets, most urgent first; j/k move the selection.
    with page.expect_navigation():
        page.keyboard.press("2")
    assert "view=team" in page.url and numbers(page) == [t.number for t in team]
    assert page.locator(".kefu-tab--current").get_attribute("data-view") == "team"
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected_number(page) == soon.number

    # ?: every shortcut of the page with its label; Esc closes it; typing in the search box is not a shortcut.
    page.keyboard.press("?")
    overlay = page.locator("#kefu-shortcuts")
    assert overlay.is_visible()
    listed = overlay.inner_text()
    labels = ("认领所选工单", "选择下一行", "选择上一行", "打开所选工单", "本组待认领", "已超时", "搜索")
    for label in (*labels, "显示或隐藏此列表"):
        assert label in listed, label
    screenshot(page, "desk-shortcuts", full_page=False)
    page.keyboard.press("Escape")
    assert not overlay.count()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "searchbar"
    page.keyboard.type("jjk")
    assert selected_number(page) == soon.number
    page.keyboard.press("Escape")

    # c: claim the selected ticket, and stay on the list, which no longer offers it.
    with page.expect_navigation():
        page.keyboard.press("c")
    assert "view=team" in page.url
    assert f"{soon.number}" in page.locator(".messagelist").inner_text()
    assert Ticket.objects.get(pk=soon.pk).assignee == lin
    assert numbers(page) == [late.number, serial[0].number, later.number]
    assert counts(page)["team"] == 3 and counts(page)["mine"] == 2

    # Another agent claims a ticket: the counts and rows change by themselves; the selection stays put.
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert selected_number(page) == serial[0].number
    page.evaluate("window.kefuNotReloaded = true")
    ticket_claim(ticket=Ticket.objects.get(pk=late.pk).as_kind(), actor=Actor.staff(wang))
    team_count = "document.querySelector('#kefu-queue-tabs a[data-view=team] .kefu-tab-count').textContent"
    page.wait_for_function(f"{team_count} == '2'")
    page.wait_for_function(f"!document.querySelector('#result_list').textContent.includes('{late.number}')")
    assert page.evaluate("window.kefuNotReloaded") is True
    assert numbers(page) == [serial[0].number, later.number]
    assert selected_number(page) == serial[0].number

    # Enter opens the selected ticket; on its page j is the next ticket of the view it came from.
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert f"/{serial[0].pk}/change/" in page.url and "view%3Dteam" in page.url
    page.keyboard.press("?")
    assert "此视图中的下一张工单" in page.locator("#kefu-shortcuts").inner_text()
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("j")
    assert f"/{later.pk}/change/" in page.url
    with page.expect_navigation():
        page.keyboard.press("j")
    assert f"/{later.pk}/change/" in page.url and "最后一张工单" in page.locator(".messagelist").inner_text()
    with page.expect_navigation():
        page.keyboard.press("k")
    assert f"/{serial[0].pk}/change/" in page.url
