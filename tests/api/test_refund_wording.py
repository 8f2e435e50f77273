"""While a refund is approved but not yet confirmed as paid, the buyer reads "refund approved, being paid"
(退款已同意，正在打款): in the storefront API and in the buyer's notification, in Chinese and in English. Staff keep
the desk's label; once finance records the payout the buyer reads "Refunded"."""

from __future__ import annotations

import pytest
from django.utils import timezone

from notifications.models import Audience, Language, Notification, ShopChannels
from tests.api.conftest import storefront, url
from tests.factories.tickets import buyer_actor, finance_actor, order_with_line, staff_actor
from tickets.models import PayoutChannel, Refund
from tickets.services import refund_execute, return_open, ticket_act
from tickets.services.payouts import refunds_payout_record
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db

BEING_PAID = {"zh-hans": "退款已同意，正在打款", "en": "Refund approved, being paid"}


def approved_refund(shop, **channels):
    ShopChannels.objects.create(shop=shop.shop, sms=True, **channels)
    order = order_with_line(shop=shop.shop)
    ticket = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 1)],
        reason_code="not_received",
        refund_only=True,
    )
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")
    refund = refund_execute(refund_id=Refund.objects.get(ticket=ticket).pk)
    return ticket, refund


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_storefront_reads_refund_approved_being_paid_until_it_is_paid(language: str) -> None:
    shop = storefront("shop-wording")
    ticket, refund = approved_refund(shop)
    detail = url("ticket-detail", number=ticket.number)

    answer = shop.client.get(detail, HTTP_ACCEPT_LANGUAGE=language).json()
    assert (answer["state"], answer["state_label"]) == ("refund_pending", BEING_PAID[language])

    refunds_payout_record(
        refund_ids=[refund.pk],
        channel=PayoutChannel.WECHAT,
        reference="WX-42",
        paid_at=timezone.now(),
        actor=finance_actor(),
    )
    answer = shop.client.get(detail, HTTP_ACCEPT_LANGUAGE=language).json()
    assert answer["state_label"] == {"zh-hans": "已退款", "en": "Refunded"}[language]


@pytest.mark.parametrize("language", [Language.ZH_HANS, Language.EN])
def test_the_buyers_notification_says_the_refund_is_approved_and_being_paid(language: str) -> None:
    shop = storefront("shop-wording")
    ticket, _ = approved_refund(shop, language=language)

    sms = Notification.objects.get(ticket_id=ticket.pk, audience=Audience.BUYER, payload__event="state_changed")
    assert BEING_PAID["zh-hans" if language == Language.ZH_HANS else "en"] in sms.body
