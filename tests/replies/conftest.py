"""Helpers of the canned-reply and macro tests: a shop with a return address and a storefront webhook (so the
buyer is notified), replies with a body per language, macros."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AbstractBaseUser

from notifications.models import ShopChannels
from orders.models import Shop
from replies.models import CannedReply, CannedReplyText, Macro
from routing.models import Department
from tests.admin.conftest import desk_user
from tests.factories.orders import ShopFactory

RETURN_ADDRESS = "杭州市余杭区仓前街道 1 号 售后仓 王仓管 0571-88880000"

EVERY_VARIABLE_ZH = (
    "{{ buyer.name }}您好，订单 {{ order.number }}（{{ ticket.number }}，{{ ticket.state_label }}，{{ shop.name }}）"
    "金额 {{ amount }}，请在 {{ deadline }} 前寄回：{{ return_address }}"
)
EVERY_VARIABLE_EN = (
    "Hello {{ buyer.name }}, order {{ order.number }} ({{ ticket.number }}, {{ ticket.state_label }}, "
    "{{ shop.name }}) amount {{ amount }}; please send it by {{ deadline }} to: {{ return_address }}"
)


def shop_with_address(code: str = "candy", *, language: str = "zh-hans", **fields: Any) -> Shop:
    shop = ShopFactory(
        code=code,
        name=f"糖果家居 {code}",
        return_address=RETURN_ADDRESS,
        webhook_url="https://storefront.example/kefu-hook",
        webhook_secret="s" * 32,
        **fields,
    )
    ShopChannels.objects.update_or_create(shop=shop, defaults={"language": language})
    return shop


def reply(
    title: str,
    *,
    zh: str,
    en: str | None = None,
    keywords: str = "",
    shop: Shop | None = None,
    department: str | None = None,
) -> CannedReply:
    made = CannedReply.objects.create(
        title=title,
        keywords=keywords,
        shop=shop,
        department=Department.objects.get(code=department) if department else None,
    )
    CannedReplyText.objects.create(reply=made, language="zh-hans", body=zh)
    if en is not None:
        CannedReplyText.objects.create(reply=made, language="en", body=en)
    return made


def macro(title: str, **fields: Any) -> Macro:
    department = fields.pop("department", None)
    if department:
        fields["department"] = Department.objects.get(code=department)
    return Macro.objects.create(title=title, **fields)


@pytest.fixture
def supervisor() -> AbstractBaseUser:
    return desk_user("supervisors", username="sup-dave")


@pytest.fixture
def ops_user() -> AbstractBaseUser:
    return desk_user("operations", username="ops-alice")


@pytest.fixture
def wh_user() -> AbstractBaseUser:
    return desk_user("warehouse", username="wh-bob")
