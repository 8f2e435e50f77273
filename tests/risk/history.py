"""Helpers of the risk tests: histories of a buyer built as stored rows, at chosen dates."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from orders.models import Buyer, Shop
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import order_with_line, ticket_build
from tickets.models import Refund, RefundStatus, Ticket


def days_ago(days: float, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def past_ticket(
    buyer: Buyer, kind: str = "return", *, days: float = 1, state: str | None = None, **fields: Any
) -> Ticket:
    """A ticket of the buyer opened ``days`` ago, on an order of its own (100.00 paid, two items)."""
    order = order_with_line(shop=buyer.shop, buyer=buyer, paid_at=days_ago(days + 3))
    ticket = ticket_build(kind, state, order=order, **fields)
    at = days_ago(days)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=at, updated_at=at)
    ticket.created_at = at
    return ticket


def refund_of(ticket: Ticket, amount: str = "50.00", *, days: float = 1, failed: bool = False) -> Refund:
    return Refund.objects.create(
        ticket=ticket,
        amount=Decimal(amount),
        status=RefundStatus.FAILED if failed else RefundStatus.SUCCEEDED,
        idempotency_key=f"test-{ticket.pk}-{Refund.objects.count()}",
        created_at=days_ago(days),
        # A paid refund names who paid it and when that was confirmed (refund_succeeded_confirmed).
        payer="manual",
        confirmed_at=None if failed else days_ago(days),
    )


def shop_and_buyer(**buyer_fields: Any) -> tuple[Shop, Buyer]:
    shop = ShopFactory()
    return shop, BuyerFactory(shop=shop, **buyer_fields)
