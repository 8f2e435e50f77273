"""SMS through the provider interface: the console provider by default, any provider by dotted path.

The provider is outside the merchant's walls, so the tests use a recording fake behind the same interface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from notifications.models import Channel, Notification, ShopChannels, Status
from notifications.relay import notification_deliver
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import order_with_line
from tests.notifications.conftest import open_return
from tests.notifications.support import RecordingSmsProvider

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(settings) -> Iterator[type[RecordingSmsProvider]]:
    settings.KEFU_SMS_PROVIDER = "tests.notifications.support.RecordingSmsProvider"
    RecordingSmsProvider.sent, RecordingSmsProvider.failures = [], 0
    yield RecordingSmsProvider
    RecordingSmsProvider.sent, RecordingSmsProvider.failures = [], 0


def sms_row() -> Notification:
    shop = ShopFactory()
    ShopChannels.objects.create(shop=shop, webhook=False, sms=True)
    ticket = open_return(order=order_with_line(shop=shop, buyer=BuyerFactory(shop=shop, phone="13912345678")))
    return Notification.objects.get(ticket=ticket, channel=Channel.SMS)


def test_the_configured_provider_gets_phone_text_and_dedup_key(provider) -> None:
    row = sms_row()
    assert notification_deliver(notification_id=row.pk) == "sent"
    assert provider.sent == [{"phone": "13912345678", "text": row.body, "dedup_key": row.dedup_key}]


def test_a_provider_error_is_a_failed_attempt_and_the_retry_sends_it(provider, settings) -> None:
    settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 0
    provider.failures = 1
    row = sms_row()
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert "rate limited" in row.last_error
    assert notification_deliver(notification_id=row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts, len(provider.sent)) == (Status.SENT, 2, 1)


def test_the_default_console_provider_only_logs_with_the_number_masked(caplog) -> None:
    row = sms_row()
    with caplog.at_level(logging.INFO, logger="kefu.sms"):
        assert notification_deliver(notification_id=row.pk) == "sent"
    assert f"SMS to 139****5678 [{row.dedup_key}]: {row.body}" in caplog.messages
    assert "13912345678" not in caplog.text
