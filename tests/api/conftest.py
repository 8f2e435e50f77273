"""Helpers of the API tests: shops with API keys, staff with tokens, tickets of a shop, error assertions.

Shops, orders and tickets come from the colleagues' factories (tests/factories); this file only adds what
the HTTP layer needs: a client that authenticates as a storefront (``Authorization: Api-Key …``) or as a
staff user (``Authorization: Token …``), and checks of the one error shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiKey, StaffToken
from orders.models import Order, Shop
from routing.models import Department, StaffMember
from tests.factories.orders import ShopFactory
from tests.factories.tickets import order_with_line, ticket_build, user_create
from tickets.models import Ticket

ERROR_KEYS = {"code", "message", "field", "errors"}


@pytest.fixture(autouse=True)
def _fresh_cache_and_media(settings, tmp_path) -> Iterator[None]:
    """Throttle counters live in the cache: every test starts with none. Uploads go to a temporary folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    yield
    cache.clear()


def url(name: str, **kwargs: Any) -> str:
    return reverse(f"api:{name}", kwargs=kwargs or None)


def storefront_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def token_client(user: AbstractBaseUser) -> APIClient:
    client = APIClient()
    _token, raw = StaffToken.issue(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@dataclass
class Storefront:
    """A shop, one of its API keys (the raw text is what the storefront sends) and a client using it."""

    shop: Shop
    key: ApiKey
    raw: str
    client: APIClient

    def order(self, **fields: Any) -> Order:
        """A delivered order of this shop (inside the return window) with one line SKU-A × 2, ¥100.00."""
        return order_with_line(shop=self.shop, **fields)

    def ticket(self, kind: str, state: str | None = None, **fields: Any) -> Ticket:
        """A ticket of this shop stored in ``state`` (see tests.factories.tickets.ticket_build)."""
        with transaction.atomic():  # routing locks rows; tests with transaction=True run in autocommit
            order = fields.pop("order", None) or self.order()
            return ticket_build(kind, state, order=order, **fields)


def storefront(code: str) -> Storefront:
    shop = ShopFactory(code=code, name=f"Shop {code}")
    key, raw = ApiKey.issue(shop=shop, name=f"{code} storefront backend")
    return Storefront(shop=shop, key=key, raw=raw, client=storefront_client(raw))


@pytest.fixture
def shop_a() -> Storefront:
    return storefront("shop-a")


@pytest.fixture
def shop_b() -> Storefront:
    return storefront("shop-b")


def staff_user(*departments: str, username: str | None = None, superuser: bool = False) -> AbstractBaseUser:
    """A staff user working in ``departments`` (off duty, so routing does not hand them tickets by itself)."""
    user = user_create(username, is_staff=True, is_superuser=superuser)
    member = StaffMember.objects.create(user=user, on_duty=False)
    member.departments.set(Department.objects.filter(code__in=departments))
    assert member.departments.count() == len(departments), f"unknown department in {departments}"
    return user


@dataclass
class Staff:
    user: AbstractBaseUser
    client: APIClient


def staff(*departments: str, username: str | None = None, superuser: bool = False) -> Staff:
    user = staff_user(*departments, username=username, superuser=superuser)
    return Staff(user=user, client=token_client(user))


@pytest.fixture
def ops() -> Staff:
    return staff("operations", username="ops-alice")


@pytest.fixture
def warehouse() -> Staff:
    return staff("warehouse", username="wh-bob")


@pytest.fixture
def logistics() -> Staff:
    return staff("logistics", username="lg-carol")


@pytest.fixture
def supervisor() -> Staff:
    return staff("supervisors", username="sup-dave")


def assert_error(response, status: int, code: str, field: str | None | type = ...) -> dict[str, Any]:
    """The response is the one error shape with this status and code (and ``field`` when given)."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["errors"], list), body
    if field is not ...:
        assert body["field"] == field, body
    return body


def money(value: str) -> Decimal:
    return Decimal(value)
