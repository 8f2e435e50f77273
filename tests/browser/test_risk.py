"""Risk flags in a real browser, in Chinese: the queue's column and filter, the flagged ticket's panel, and the
screenshot docs/risk.md shows (docs/screenshots/risk-flagged-ticket.png, with KEFU_UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction

from orders.models import Channel
from risk.models import RiskPolicy
from risk.services.evidence import evidence_fingerprint
from risk.services.profiles import buyer_profile_refresh
from routing.models import Department, StaffMember
from tests.browser.conftest import login, screenshot
from tests.factories.orders import BuyerFactory, OrderFactory, OrderLineFactory, ShopFactory
from tests.factories.tickets import ticket_build
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services.timeline import ticket_evidence_attach

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-browser-12345"
LIST = "/admin/tickets/ticket/"
PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "risk"


def returns_of(buyer, count: int, first: int, *, state: str = "requested", **fields) -> list[Ticket]:
    made = []
    for i in range(count):
        with transaction.atomic():
            order = OrderFactory(shop=buyer.shop, buyer=buyer, number=f"TB2026120{first + i:04d}")
            OrderLineFactory(order=order, sku="KETTLE-17", name="不锈钢电热水壶 1.7L", unit_price=Decimal("159.00"))
            made.append(ticket_build("return", state, order=order, **fields))
    return made


def attach(ticket: Ticket, photo: str) -> None:
    attachment = ticket_evidence_attach(
        ticket=ticket,
        actor=Actor.for_buyer(ticket.buyer),
        file=ContentFile((PHOTOS / f"{photo}.jpg").read_bytes(), name=f"{photo}.jpg"),
        original_name="壶身裂缝.jpg",
        content_type="image/jpeg",
    )
    evidence_fingerprint(attachment_id=attachment.pk)


def test_a_supervisor_sees_flags_in_the_queue_filters_them_and_reads_the_facts(
    page, live_server, django_user_model, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    user = django_user_model.objects.create_user("sup-chen", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="supervisors"))
    StaffMember.objects.create(user=user, on_duty=False).departments.add(Department.objects.get(code="supervisors"))
    shop = ShopFactory(code="tb", name="糖果家居 淘宝旗舰店", channel=Channel.TAOBAO)
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=3)
    zhou = BuyerFactory(shop=shop, name="周退退", phone="13900001111")
    flagged = returns_of(zhou, 3, 1, description="不退款就给差评")
    clean = returns_of(BuyerFactory(shop=shop, name="林小美"), 1, 10)
    reused = returns_of(BuyerFactory(shop=shop, name="孙丽"), 1, 20) + returns_of(
        BuyerFactory(shop=shop, name="钱浩"), 1, 30
    )
    attach(reused[0], "original")
    attach(reused[1], "resized")
    for buyer_id in {t.buyer_id for t in flagged + clean + reused}:
        buyer_profile_refresh(buyer_id=buyer_id)

    login(page, live_server, "sup-chen", PASSWORD)
    page.goto(f"{live_server.url}{LIST}")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 6
    marked = {
        rows.nth(i).locator("th .kefu-number").inner_text(): rows.nth(i).locator("td.field-risk").inner_text()
        for i in range(rows.count())
    }
    assert marked[clean[0].number] == "—"
    for ticket in flagged:
        assert "连续退货" in marked[ticket.number] and "差评威胁" in marked[ticket.number]
    for ticket in reused:
        assert marked[ticket.number] == "凭证复用"

    page.click("#changelist-filter a[href*='risk=flagged']")
    page.wait_for_url("**risk=flagged**")
    assert sorted(rows.locator("th .kefu-number").all_inner_texts()) == sorted(t.number for t in flagged + reused)

    page.click(f"#result_list th .kefu-number:text-is('{flagged[0].number}')")
    page.wait_for_selector("#kefu-risk")
    panel = page.locator("#kefu-risk")
    assert "不会被自动同意或自动退款" in panel.inner_text()
    facts = panel.locator("li[data-flag='serial_returner']").inner_text()
    assert "30 天内退货 3 次（阈值 3）" in facts
    assert "例如“给差评”" in panel.locator("li[data-flag='review_threat']").inner_text()
    screenshot(page, "risk-flagged-ticket")

    page.goto(f"{live_server.url}{LIST}{reused[1].pk}/change/")
    reuse = page.locator("#kefu-risk li[data-flag='evidence_reuse']").inner_text()
    assert f"同一照片也出现在订单 {reused[0].order.number} / 售后单 {reused[0].number}" in reuse
