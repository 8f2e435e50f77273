"""An incident followed to its end in a real browser (Debian's chromium), in Chinese at 1366×768, with a real
Celery worker on a private Redis, as issue 17 asks: ZTO's Wuhan hub stops and 500 demo orders are stuck on their
way to Hubei.

The supervisor declares a carrier delay (a first try without the compensation shows the error beside its field),
previews it (500 orders of 500 buyers), starts it and watches the progress reach 500 buyers told while the worker
opens the tickets and tells the buyers at the incident's rate; two buyers answer from the link in their SMS on a
phone-sized page (one chooses the refund, the other accepts the compensation and waits), and the progress shows
both; the supervisor extends the internal deadlines by a day, then closes the incident with a final message, and
the progress follows the final messages going out until every buyer got one.

Screenshots for docs/incidents.md (``KEFU_UPDATE_SCREENSHOTS=1`` writes them to docs/screenshots/).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from desk.demo.incident import INCIDENT_ORDER_PREFIX
from desk.demo.setup import STAFF_PASSWORD
from incidents.models import Incident, IncidentOffer, IncidentStatus, IncidentTicket
from incidents.progress import incident_progress
from notifications.models import Event, Notification
from tests.browser.conftest import TIMEOUT_MS, login, screenshot
from tests.markers import requires_postgres
from tests.notifications.support import kefu_app_on, private_redis, wait_until, worker_thread
from tickets.actors import Actor
from tickets.models import Ticket
from tickets.services.payouts import refunds_payout_record, refunds_to_pay

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DESK = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
ORDERS = 500
# Long enough for a loaded two-core machine to open 500 tickets through the services and tell their buyers.
FIGURES_MS = 180_000
# Closing runs each ticket left through its declared transitions (found, resolved) at the telling's rate: about
# three minutes for 500 on an idle two-core machine, more under load.
CLOSING_MS = 600_000
MESSAGE = "因中通武汉转运中心临时停运，您的包裹将延迟送达，我们深表歉意。"
CLOSING = "武汉转运中心已恢复运转，您的包裹已重新发出。感谢您的耐心等待！"


def figure(page, name: str):
    return page.locator(f"#kefu-incident-progress [data-figure='{name}']")


def wait_for_figure(page, name: str, text: str, timeout: int = FIGURES_MS) -> None:
    """Until the polled progress shows ``text`` for the figure (htmx swaps the panel every second)."""
    page.wait_for_function(
        "([name, text]) => { const cell = document.querySelector(`#kefu-incident-progress [data-figure='${name}']`);"
        " return cell && cell.textContent.trim() === text; }",
        arg=[name, text],
        timeout=timeout,
    )


def answer_link(affected: IncidentTicket) -> str:
    """The link in the SMS that told the buyer (the demo's official shop reaches its buyers by SMS)."""
    sms = Notification.objects.filter(ticket_id=affected.ticket_id, event=Event.INCIDENT_NOTICE).first()
    assert sms is not None, "the buyer was told"
    link = re.search(r"http://\S+/incident/[^/\s]+/", sms.body)
    assert link, sms.body
    return link.group(0)


def test_a_carrier_delay_for_500_demo_orders_followed_to_its_end(
    browser, live_server, settings, monkeypatch, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.KEFU_PUBLIC_BASE_URL = live_server.url
    settings.KEFU_INCIDENT_POLL_SECONDS = 1
    settings.KEFU_INCIDENT_TELL_TICK_SECONDS = 1.0
    # The demo, with its 500 orders stuck with ZTO on their way to Hubei (desk/demo/incident.py).
    monkeypatch.setenv("KEFU_DEMO_INCIDENT_ORDERS", str(ORDERS))
    settings.DEBUG = True  # seed_demo's own guard
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.DEBUG = False
    assert Ticket.objects.filter(order__number__startswith=INCIDENT_ORDER_PREFIX).count() == 0

    with private_redis() as redis, kefu_app_on(redis.url), worker_thread():
        boss = browser.new_context(viewport=DESK, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
        boss.set_default_timeout(TIMEOUT_MS)
        page = boss.new_page()
        login(page, live_server, "sup1", STAFF_PASSWORD)

        # 1. Declare: kind, scope, what buyers hear, what they are offered. The compensation is forgotten first.
        page.goto(f"{live_server.url}/admin/incidents/incident/add/")
        page.fill("#id_title", "中通武汉转运中心停运 · 湖北订单延误")
        page.check("input[name=kind][value=logistics_delay]")
        page.fill("#id_carrier", "ZTO")
        page.check("input[name=tracking_statuses][value=in_transit]")
        page.fill("#id_destination_region", "湖北省")
        page.fill("#id_message", MESSAGE)
        page.fill("#id_expected_delivery_date", f"{timezone.localdate() + timedelta(days=4):%Y-%m-%d}")
        page.check("input[name=offers][value=wait]")
        page.check("input[name=offers][value=refund]")
        page.fill("#id_messages_per_minute", "6000")
        with page.expect_navigation():
            page.click("input[name=_save]")
        errors = page.locator("#kefu-incident-errors").inner_text()
        assert "补偿" in errors, errors  # the field's name, in Chinese, with what is wrong
        assert not Incident.objects.exists()
        screenshot(page, "incident-declare-error")
        page.fill("#id_compensation_amount", "5.00")
        with page.expect_navigation():
            page.click("input[name=_save]")

        # 2. The preview: how many orders and buyers, a sample; nothing has happened yet.
        incident = Incident.objects.get()
        assert page.url.endswith(f"/admin/incidents/incident/{incident.pk}/preview/")
        assert page.locator("#kefu-preview-orders").inner_text() == str(ORDERS)
        assert page.locator("#kefu-preview-buyers").inner_text() == str(ORDERS)
        assert page.locator("#kefu-preview-sample tbody tr").count() == 20
        assert "湖北省/" in page.locator("#kefu-preview-sample tbody").inner_text()
        screenshot(page, "incident-preview")
        assert incident.status == IncidentStatus.DRAFT and not IncidentTicket.objects.exists()

        # 3. Start (confirmed); the worker opens the tickets and tells the buyers; the page follows by itself.
        page.check("#id_confirm")
        with page.expect_navigation():
            page.click("#kefu-incident-start-button")
        assert "事件已启动" in page.locator(".messagelist").inner_text()
        wait_for_figure(page, "matched", str(ORDERS))
        wait_for_figure(page, "told", str(ORDERS))
        screenshot(page, "incident-progress", full_page=False)
        assert IncidentTicket.objects.filter(incident=incident, told_at__isnull=False).count() == ORDERS
        assert Ticket.objects.filter(order__number__startswith=INCIDENT_ORDER_PREFIX).count() == ORDERS

        # 4. Two buyers answer from the link in their SMS, on their phones, without an account.
        refunder, waiter = IncidentTicket.objects.filter(incident=incident).order_by("pk")[:2]
        phone = browser.new_context(viewport=PHONE, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN"})
        phone.set_default_timeout(TIMEOUT_MS)
        buyer_page = phone.new_page()
        buyer_page.goto(answer_link(refunder))
        assert MESSAGE in buyer_page.locator("#incident-message").inner_text()
        buyer_page.click("label[for=answer-refund]")
        screenshot(buyer_page, "incident-buyer-answer")
        with buyer_page.expect_navigation():
            buyer_page.click("#incident-submit")
        buyer_page.wait_for_selector("#incident-recorded")
        buyer_page.goto(answer_link(waiter))
        buyer_page.click("label[for=answer-wait]")
        with buyer_page.expect_navigation():
            buyer_page.click("#incident-submit")
        buyer_page.wait_for_selector("#incident-recorded")
        phone.close()
        assert IncidentTicket.objects.get(pk=refunder.pk).answer == IncidentOffer.REFUND
        assert IncidentTicket.objects.get(pk=waiter.pk).answer == IncidentOffer.WAIT

        # The compensation is paid at once (a coupon of the shop's pool); the refund waits for finance, which
        # records its payout (the finance queue's page has its own browser test).
        wait_for_figure(page, "answered", "2")
        wait_for_figure(page, "compensation", "¥5.00")
        refund = wait_until(
            lambda: refunds_to_pay().filter(ticket__origin_id=refunder.ticket_id).first(),
            timeout=60,
            what="the refund in the finance queue",
        )
        refunds_payout_record(
            refund_ids=[refund.pk],
            channel="alipay_account",
            reference="2026120700001",
            paid_at=timezone.now(),
            actor=Actor.staff(_user("fin1")),
        )
        wait_for_figure(page, "refunded", f"¥{refund.amount}")
        assert refund.amount > Decimal("0")
        answers = page.locator("#kefu-incident-progress .kefu-incident-answers").inner_text()
        assert "退款 1" in answers or "退款" in answers, answers

        # 5. A day more for the internal deadlines; the marketplace's deadlines never move.
        page.fill("#id_hours", "24")
        with page.expect_navigation():
            page.click("#kefu-incident-extend input[type=submit]")
        extended = page.locator(".messagelist .success").inner_text()
        assert "24 小时" in extended, extended

        # 6. Close with a final message: the tickets left are closed and every buyer gets it, at the same rate.
        page.fill("#id_closing_message", CLOSING)
        with page.expect_navigation():
            page.click("#kefu-incident-close input[type=submit]")
        assert Incident.objects.get().status == IncidentStatus.CLOSED
        wait_for_figure(page, "closing-told", str(ORDERS), timeout=CLOSING_MS)
        page.wait_for_selector("#kefu-incident-progress:not([hx-trigger])")  # nothing moves any more
        screenshot(page, "incident-closed", full_page=False)
        boss.close()

    progress = incident_progress(Incident.objects.get())
    assert (progress.matched, progress.told, progress.answered, progress.closing_told) == (ORDERS, ORDERS, 2, ORDERS)
    assert progress.compensation_paid == Decimal("5.00") and progress.refunded_amount == refund.amount


def _user(username: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=username)
