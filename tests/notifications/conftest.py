"""Fixtures of the notification tests: a storefront server, shops that have it as their webhook, tickets
opened as a buyer would, and a private Redis broker the kefu Celery app publishes to.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orders.models import Order, Shop
from tests.factories.orders import ShopFactory
from tests.factories.tickets import order_with_line
from tests.notifications.support import PrivateRedis, Storefront, kefu_app_on, private_redis, storefront_running
from tickets.actors import Actor
from tickets.models import ReturnTicket
from tickets.services import return_open
from tickets.types import LineRequest

SECRET = "whsec_5fJ2kq9ZtV8mXr3L"  # the shop's webhook signing secret in these tests


@pytest.fixture
def storefront() -> Iterator[Storefront]:
    """A storefront HTTP server on 127.0.0.1 answering 200 (tests change its behaviour)."""
    with storefront_running() as front:
        yield front


def webhook_shop(url: str, *, secret: str = SECRET, **fields: Any) -> Shop:
    """A shop whose buyers hear about their tickets through the storefront webhook at ``url``."""
    return ShopFactory(webhook_url=url, webhook_secret=secret, **fields)


def open_return(shop: Shop | None = None, *, order: Order | None = None) -> ReturnTicket:
    """A return opened by the buyer through the service (one line of SKU-A)."""
    order = order or order_with_line(**({"shop": shop} if shop else {}))
    return return_open(
        order=order, actor=Actor.for_buyer(order.buyer), lines=[LineRequest("SKU-A", 1)], reason_code="quality_problem"
    )


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    """A private redis-server the kefu Celery app publishes to (and its workers consume from) in this test.

    Skips outside CI without ``redis-server``; fails in CI.
    """
    with private_redis() as redis, kefu_app_on(redis.url):
        yield redis


@pytest.fixture
def no_broker() -> Iterator[None]:
    """The kefu Celery app on kombu's in-memory transport: what committed changes hand to the relay goes
    nowhere (no worker); the test runs the relay itself. Keeps transactional tests off the real broker.
    """
    with kefu_app_on("memory://"):
        yield
