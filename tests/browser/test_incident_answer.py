"""The buyer's answer to an incident in a real browser on a phone (chromium, zh-hans, 390×844): the link of their
SMS opens the page, they choose a refund, the page shows the recorded answer and their ticket is refunding.

Screenshot (KEFU_UPDATE_SCREENSHOTS=1): docs/screenshots/incident-answer.png (docs/incidents.md).
"""

from __future__ import annotations

import re

import pytest

from incidents.messaging import incident_tell_batch
from incidents.models import IncidentTicket
from kefu.core.vocabulary import LogisticsState
from notifications.models import Event, Notification
from tests.browser.conftest import screenshot
from tests.incidents.affected import running_incident, sms_shop
from tickets.selectors import ticket_get

PHONE = {"width": 390, "height": 844}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_buyer_chooses_a_refund_on_their_phone_from_the_link_in_their_sms(page, live_server, settings) -> None:
    settings.KEFU_PUBLIC_BASE_URL = live_server.url
    incident = running_incident(count=1, shop=sms_shop(name="云杉家居旗舰店"))
    incident_tell_batch(incident_id=incident.pk)
    affected = IncidentTicket.objects.get(incident=incident)
    body = Notification.objects.get(ticket_id=affected.ticket_id, event=Event.INCIDENT_NOTICE).body
    link = re.search(r"http://\S+/incident/[^/\s]+/", body)
    assert link, body

    page.set_viewport_size(PHONE)
    page.goto(link.group(0))
    assert affected.order.number in page.locator("h1").inner_text()
    assert "中转站停运" in page.locator("#incident-message").inner_text()
    assert page.locator("#header, #nav-sidebar").count() == 0  # no admin chrome
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # nothing wider than the phone
    assert page.locator("input[name=answer]").count() == 2  # wait and refund
    page.click("label[for=answer-refund]")
    assert page.locator("#answer-refund").is_checked()
    screenshot(page, "incident-answer")

    page.click("#incident-submit")
    page.wait_for_selector("#incident-recorded")
    assert "谢谢，我们已收到您的选择" in page.locator("#incident-recorded").inner_text()
    assert ticket_get(pk=affected.ticket_id).state == LogisticsState.REFUNDING
    page.reload()  # the answer stands; no form again
    assert page.locator("#incident-form").count() == 0
