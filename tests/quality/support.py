"""Resolved tickets for the 回访 tests: a complaint whose buyer accepts the proposed resolution."""

from __future__ import annotations

from notifications.models import ShopChannels
from orders.models import Shop
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import buyer_actor, order_with_line, ticket_build
from tickets.models import Ticket
from tickets.services import ticket_act


def sms_shop(language: str = "zh-hans", **fields) -> Shop:
    """A shop whose buyers hear by SMS only, in ``language``."""
    shop = ShopFactory(webhook_url="", **fields)
    ShopChannels.objects.create(shop=shop, webhook=False, sms=True, language=language)
    return shop


def complaint_resolved(shop: Shop | None = None, *, phone: str = "13800000001") -> Ticket:
    """A complaint with a proposed resolution that its buyer accepts (closed: a resolution)."""
    shop = shop or sms_shop()
    buyer = BuyerFactory(shop=shop, phone=phone)
    ticket = ticket_build(
        "complaint", "resolution_proposed", order=order_with_line(shop=shop, buyer=buyer), resolution="退款 20 元"
    )
    return ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="accept_resolution")
