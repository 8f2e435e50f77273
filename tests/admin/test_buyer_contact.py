"""Buyers' phone numbers and emails (issue 12, "Evidence and personal data"): masked (``138****5678``) for staff
whose step does not need them and in every list; in full for supervisors (``tickets.view_buyer_contact``) and for
the warehouse while it ships an exchange's replacement (tickets.privacy)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.core.privacy import mask_email, mask_phone, mask_recipient
from notifications.models import Notification
from tests.admin.conftest import desk_user, logged_in, page_url, ticket
from tests.factories.orders import BuyerFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
MASKED = "138****5678"
EMAIL = "zhang.san@example.com"


def buyer_ticket(kind: str, state: str):
    buyer = BuyerFactory(phone=PHONE, email=EMAIL)
    return ticket(kind, state, order_fields={"shop": buyer.shop, "buyer": buyer})


def test_masks() -> None:
    assert mask_phone(PHONE) == MASKED
    assert mask_phone("+86 138-1234-5678") == "+86****5678"
    assert mask_phone("110") == "**10" and mask_phone("") == ""
    assert mask_email(EMAIL) == "z***@example.com"
    assert mask_recipient("sms", PHONE) == MASKED and mask_recipient("webhook", "https://x") == "https://x"


@pytest.mark.parametrize(
    ("department", "kind", "state", "full"),
    [
        ("operations", "return", "requested", False),
        ("warehouse", "return", "received", False),
        ("warehouse", "exchange", "replacement_pending", True),  # ships the replacement to the buyer
        ("supervisors", "return", "requested", True),  # tickets.view_buyer_contact
    ],
)
def test_the_ticket_page_shows_the_buyer_s_contact_only_to_those_who_need_it(department, kind, state, full):
    t = buyer_ticket(kind, state)
    page = logged_in(desk_user(department)).get(page_url(t))
    assert page.status_code == 200
    html = page.content.decode()
    assert (PHONE in html, EMAIL in html) == (full, full)
    if not full:
        assert MASKED in html and "z***@example.com" in html


def test_lists_never_show_full_numbers_even_to_supervisors():
    t = buyer_ticket("return", "requested")
    Notification.objects.create(
        ticket_id=t.pk,
        event="state_changed",
        channel="sms",
        audience="buyer",
        recipient=PHONE,
        language="zh-hans",
        body="您的退货申请已通过",
        dedup_key="n-contact",
    )
    supervisor = logged_in(desk_user("supervisors"))
    notifications = supervisor.get(reverse("admin:notifications_notification_changelist")).content.decode()
    assert MASKED in notifications and PHONE not in notifications
    # Searching by the full number still finds the message.
    found = supervisor.get(reverse("admin:notifications_notification_changelist"), {"q": PHONE}).content.decode()
    assert MASKED in found and "0 results" not in found
    buyers = supervisor.get(reverse("admin:orders_buyer_changelist")).content.decode()
    assert MASKED in buyers and PHONE not in buyers
    ticket_page = supervisor.get(page_url(t)).content.decode()
    assert ticket_page.count(PHONE) == 1  # the buyer line, not the notifications table


def test_a_buyer_s_page_masks_the_contact_unless_the_user_may_see_it():
    t = buyer_ticket("return", "requested")
    path = reverse("admin:orders_buyer_change", args=[t.buyer_id])
    ops = logged_in(desk_user("operations")).get(path).content.decode()
    assert MASKED in ops and PHONE not in ops and EMAIL not in ops
    supervisor = logged_in(desk_user("supervisors")).get(path).content.decode()
    assert PHONE in supervisor and EMAIL in supervisor
    notification = Notification.objects.create(
        ticket_id=t.pk,
        event="closed",
        channel="sms",
        audience="buyer",
        recipient=PHONE,
        language="en",
        body="closed",
        dedup_key="n-contact-2",
    )
    note_path = reverse("admin:notifications_notification_change", args=[notification.pk])
    assert PHONE in logged_in(desk_user("supervisors")).get(note_path).content.decode()
