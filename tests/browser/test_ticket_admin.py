"""The ticket queue and page in a real browser (Debian's chromium through Playwright), and their screenshots in
docs/screenshots/ (ticket-list.png, ticket-page.png, warehouse-queue.png; docs/admin.md shows them).

A supervisor filters overdue returns, opens one and approves it with its button; a warehouse member sees only
the warehouse's tickets and marks a returned parcel received. In English: the screenshots are for the guide.

``serialized_rollback``: the live server needs committed rows (transactional tests), and the groups,
departments and reason codes the data migrations made must be there again after an earlier test's flush.
"""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from notifications.models import Notification
from orders.models import Channel
from routing.models import Department, StaffMember
from tests.browser.conftest import login, screenshot
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build
from tickets import services
from tickets.actors import Actor
from tickets.models import Ticket

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.parametrize("page", ["en"], indirect=True),
]

PASSWORD = "pw-browser-12345"
LIST = "/admin/tickets/ticket/"
ITEMS = [
    ("SHOE-RUN-42", "轻量跑步鞋 42码", "399.00"),
    ("KETTLE-17", "不锈钢电热水壶 1.7L", "159.00"),
    ("MUG-BLUE", "陶瓷马克杯 湖蓝", "39.90"),
    ("TEE-WHT-M", "纯棉圆领T恤 白色 M", "79.00"),
    ("EARBUDS-BT", "蓝牙降噪耳机", "299.00"),
    ("LAMP-LED", "LED 护眼台灯", "189.00"),
]
BUYERS = ["林小美", "张伟", "王芳", "李娜", "陈杰", "赵磊", "吴敏", "何静", "周强", "郑浩", "孙丽", "刘洋"]


def desk_user(django_user_model, username: str, department: str):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True, first_name=username)
    user.groups.add(Group.objects.get(name=department))
    StaffMember.objects.create(user=user, on_duty=False).departments.add(Department.objects.get(code=department))
    return user


class Desk:
    """Tickets of every kind in several shops, some overdue, made as the factories make them."""

    def __init__(self) -> None:
        self.shops = [
            ShopFactory(code="tb", name="糖果家居 淘宝旗舰店", channel=Channel.TAOBAO),
            ShopFactory(code="jd", name="糖果家居 京东店", channel=Channel.JD),
            ShopFactory(code="own", name="糖果家居 官方商城", channel=Channel.OWN),
        ]
        self.n = 0

    def ticket(self, kind: str, state: str, *, overdue_hours: float | None = None, **fields) -> Ticket:
        i = self.n
        self.n += 1
        shop = self.shops[i % 3]
        sku, name, price = ITEMS[i % len(ITEMS)]
        buyer = BuyerFactory(shop=shop, name=BUYERS[i % len(BUYERS)], phone=f"1391234{i:04d}")
        with transaction.atomic():
            order = OrderFactory(shop=shop, buyer=buyer, number=f"{shop.code.upper()}2026030{i:04d}")
            OrderLineFactory(order=order, sku=sku, name=name, unit_price=Decimal(price), quantity=1)
            ticket = ticket_build(kind, state, order=order, **fields)
        if overdue_hours is not None:
            due = timezone.now() - timedelta(hours=overdue_hours)
            Ticket.objects.filter(pk=ticket.pk).update(step_due_at=due, due_at=due, priority=30)
        return ticket


def png(width: int = 160, height: int = 110) -> bytes:
    """A small valid PNG (a gradient), so the evidence preview shows a picture."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((200 - y, 120 + x // 2, 90 + y // 2)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def serve_media(page) -> None:
    """The live server serves static files but not MEDIA_ROOT (only DEBUG's runserver does): answer for it."""

    def fulfil(route) -> None:
        name = route.request.url.split(settings.MEDIA_URL.strip("/") + "/", 1)[1]
        path = Path(settings.MEDIA_ROOT) / name
        if path.is_file():
            route.fulfill(status=200, body=path.read_bytes(), content_type="image/png")
        else:
            route.fulfill(status=404, body=b"")

    page.route("**/media/**", fulfil)


def wide_screenshot(page, name: str) -> None:
    """The list with the navigation sidebar folded away (as a user would, for room), then unfolded again."""
    page.click("#toggle-nav-sidebar")
    screenshot(page, name)
    page.click("#toggle-nav-sidebar")


def test_a_supervisor_filters_overdue_returns_opens_one_and_approves_it(
    page, live_server, django_user_model, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    desk_user(django_user_model, "sup-chen", "supervisors")
    ops = desk_user(django_user_model, "ops-li", "operations")
    desk = Desk()
    overdue_returns = [
        desk.ticket("return", "requested", overdue_hours=5, description="鞋底开胶，要求退货。"),
        desk.ticket("return", "received", overdue_hours=2),
    ]
    for kind, state in [
        ("return", "requested"),
        ("exchange", "requested"),
        ("complaint", "open"),
        ("logistics", "reported"),
        ("return", "return_in_transit"),
        ("exchange", "received"),
        ("return", "awaiting_return"),
        ("complaint", "investigating"),
        ("return", "refunded"),
        ("exchange", "cancelled"),
    ]:
        desk.ticket(kind, state)
    desk.ticket("complaint", "open", overdue_hours=8)  # overdue, but not a return
    first = overdue_returns[0]
    Ticket.objects.filter(pk=first.pk).update(assignee=ops)
    services.ticket_comment_add(ticket=first, actor=Actor.for_buyer(first.buyer), body="吊牌还在，鞋盒也在。")
    services.ticket_evidence_attach(
        ticket=first,
        actor=Actor.for_buyer(first.buyer),
        file=ContentFile(png(), name="photo.png"),
        original_name="鞋底开胶.png",
        content_type="image/png",
    )
    services.ticket_comment_add(ticket=first, actor=Actor.staff(ops), body="已请仓库确认库存。", public=False)
    Notification.objects.create(
        ticket_id=first.pk,
        event="ticket_created",
        channel="sms",
        audience="buyer",
        recipient=first.buyer.phone,
        language="zh-hans",
        body="您的退货申请已提交",
        dedup_key="browser-1",
        status="sent",
        attempts=1,
    )
    serve_media(page)

    login(page, live_server, "sup-chen", PASSWORD)
    page.goto(f"{live_server.url}{LIST}")
    assert page.locator("#result_list tbody tr").count() == 13
    page.click("#changelist-filter a[href*='kind__exact=return']")
    page.click("#changelist-filter a[href*='overdue=yes']")
    page.wait_for_url("**overdue=yes**")

    rows = page.locator("#result_list tbody tr")
    assert sorted(rows.locator("th .kefu-number").all_inner_texts()) == sorted(t.number for t in overdue_returns)
    for i in range(rows.count()):
        assert rows.nth(i).locator("td.field-due .kefu-overdue").is_visible()
        assert rows.nth(i).locator("th .kefu-kind").inner_text() == "Return / refund"
    # Most urgent first: the one overdue for longer is on top.
    assert rows.first.locator("th .kefu-number").inner_text() == first.number
    wide_screenshot(page, "ticket-list")

    page.click(f"#result_list th .kefu-number:text-is('{first.number}')")
    page.wait_for_selector("#kefu-actions")
    page.wait_for_function("() => document.querySelector('#kefu-evidence img').complete")
    assert page.locator("#kefu-evidence img").evaluate("img => img.naturalWidth") == 160
    # An action that takes inputs unfolds its small form first.
    page.click("#kefu-actions details:has(form[data-action='approve']) > summary")
    approve = page.locator("#kefu-actions form[data-action='approve']")
    approve.locator("textarea").fill("同意退货，请寄回。")
    screenshot(page, "ticket-page")
    with page.expect_navigation():
        approve.locator("button[type=submit]").click()

    assert "Approve: ticket" in page.locator(".messagelist .success").inner_text()
    assert page.locator("#kefu-summary .kefu-state").inner_text() == "Awaiting return"
    entry = page.locator("#kefu-timeline li[data-transition='approve']")
    assert entry.is_visible()
    assert "sup-chen" in entry.inner_text() and "Requested → Awaiting return" in entry.inner_text()
    assert "同意退货，请寄回。" in entry.inner_text()
    assert Ticket.objects.get(pk=first.pk).state == "awaiting_return"


def test_a_warehouse_member_sees_only_warehouse_tickets_and_marks_a_return_received(
    page, live_server, django_user_model
) -> None:
    desk_user(django_user_model, "wh-wang", "warehouse")
    desk = Desk()
    warehouse = [
        desk.ticket("return", "return_in_transit"),
        desk.ticket("return", "return_in_transit", overdue_hours=3),
        desk.ticket("exchange", "return_in_transit"),
        desk.ticket("return", "received"),
        desk.ticket("exchange", "replacement_pending"),
    ]
    for kind, state in [
        ("return", "requested"),
        ("complaint", "open"),
        ("logistics", "reported"),
        ("exchange", "awaiting_return"),
        ("return", "refund_pending"),
    ]:
        desk.ticket(kind, state)

    login(page, live_server, "wh-wang", PASSWORD)
    page.goto(f"{live_server.url}{LIST}")

    shown = page.locator("#result_list tbody tr th .kefu-number").all_inner_texts()
    assert sorted(shown) == sorted(t.number for t in warehouse)
    assert set(page.locator("#result_list td.field-department_name").all_inner_texts()) == {"仓库 Warehouse"}
    wide_screenshot(page, "warehouse-queue")

    parcel = warehouse[1]
    page.click(f"#result_list th .kefu-number:text-is('{parcel.number}')")
    page.wait_for_selector("#kefu-actions")
    buttons = page.locator("#kefu-actions form.kefu-action").evaluate_all("fs => fs.map(f => f.dataset.action)")
    assert buttons == ["receive"]
    with page.expect_navigation():
        page.click("#kefu-actions form[data-action='receive'] button[type=submit]")

    assert "is now Received" in page.locator(".messagelist .success").inner_text()
    assert page.locator("#kefu-timeline li[data-transition='receive']").is_visible()
    assert Ticket.objects.get(pk=parcel.pk).state == "received"
    # Another department's ticket does not open, even by its address.
    other = Ticket.objects.filter(department="operations").first()
    page.goto(f"{live_server.url}{LIST}{other.pk}/change/")
    assert "is not in your department's queue" in page.locator(".messagelist").inner_text()
