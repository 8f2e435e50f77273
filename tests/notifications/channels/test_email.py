"""Email through Django's email backends (locmem in tests; SMTP in production)."""

from __future__ import annotations

import pytest
from django.core import mail

from notifications.models import Channel, Event, Notification, ShopChannels, Status
from notifications.relay import relay_pending
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import order_with_line
from tests.notifications.conftest import open_return
from tests.notifications.support import free_port

pytestmark = pytest.mark.django_db


def emailed_buyer_ticket():
    shop = ShopFactory()
    ShopChannels.objects.create(shop=shop, webhook=False, email=True)
    return open_return(order=order_with_line(shop=shop, buyer=BuyerFactory(shop=shop, email="buyer@example.com")))


def test_an_email_goes_to_the_recipient_with_the_dedup_key_header(settings) -> None:
    settings.DEFAULT_FROM_EMAIL = "kefu@shop.example.com"
    ticket = emailed_buyer_ticket()
    row = Notification.objects.get(ticket=ticket, channel=Channel.EMAIL)
    assert relay_pending().sent == 1
    [message] = mail.outbox
    assert message.to == ["buyer@example.com"]
    assert message.from_email == "kefu@shop.example.com"
    assert (message.subject, message.body) == (row.subject, row.body)
    assert message.extra_headers["X-Kefu-Delivery"] == row.dedup_key


def test_an_smtp_server_that_is_down_is_a_failed_attempt_to_retry(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 1
    row = Notification.objects.get(ticket=emailed_buyer_ticket(), channel=Channel.EMAIL)
    assert relay_pending().failed == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "ConnectionRefusedError" in row.last_error


def test_a_batch_without_webhooks_reads_no_shop_and_an_email_without_subject_is_titled_by_its_event(
    django_assert_num_queries,
) -> None:
    rows = [Notification.objects.get(ticket=emailed_buyer_ticket(), channel=Channel.EMAIL) for _ in range(3)]
    Notification.objects.filter(pk=rows[0].pk).update(subject="")
    assert not Notification.objects.filter(channel=Channel.WEBHOOK).exists()
    pending = Notification.objects.filter(status=Status.PENDING).count()

    # The claim, the record of the sent rows, and a claim that finds nothing: only webhooks need their shop.
    with django_assert_num_queries(3):
        assert relay_pending().sent == pending
    [untitled] = [m for m in mail.outbox if m.extra_headers["X-Kefu-Delivery"] == rows[0].dedup_key]
    assert untitled.subject == str(Event.TICKET_CREATED.label)
