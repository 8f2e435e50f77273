"""A WeChat Channels shop connected to the local WeChat simulator (tests/simulators/wechat.py), and helpers to
push to kefu as the platform does and to send the write-backs.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which issues and checks access
tokens, keeps the cases' statuses and update times, answers ``deadline`` in seconds left, and answers in WeChat's
errcode/errmsg shapes; its pushes are signed (and in safe mode encrypted) independently of the connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from connectors.models import ShopConnection, WriteBack
from connectors.services.sync import inbox_process
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import ticket_of
from tests.factories.orders import ShopFactory
from tests.simulators.wechat import APP_ID, APP_SECRET, PUSH_AES_KEY, PUSH_TOKEN, WechatSimulator, wechat_running


@pytest.fixture
def wechat(settings: Any) -> Iterator[WechatSimulator]:
    settings.KEFU_WECHAT_PUSH_TOKEN = PUSH_TOKEN
    settings.KEFU_WECHAT_PUSH_AES_KEY = PUSH_AES_KEY
    with wechat_running() as simulator:
        yield simulator


@pytest.fixture
def connection(db: Any, wechat: WechatSimulator) -> ShopConnection:
    return ShopConnection.objects.create(
        shop=ShopFactory(code="channels-shop"),
        platform="wechat",
        external_id=wechat.shop_id,
        base_url=wechat.url,
        app_key=APP_ID,
        app_secret=APP_SECRET,
        return_address_id="20001",
    )


PUSH_URL = "/connectors/wechat/push/"


def push(client: Any, wechat: WechatSimulator, case_id: str, **options: Any) -> Any:
    """POST the ``channels_ec_aftersale_update`` event of the case as WeChat does (query-string signature)."""
    create_time = options.pop("create_time", None)
    query, body = wechat.push_request(wechat.event(case_id, create_time=create_time), **options)
    return client.post(f"{reverse('connectors:push', kwargs={'platform': 'wechat'})}?{query}", body, "application/json")


def arrive_by_push(client: Any, wechat: WechatSimulator, case_id: str, **options: Any) -> Any:
    response = push(client, wechat, case_id, **options)
    assert response.status_code == 200 and response.content == b"success", response.content
    inbox_process()
    return ticket_of(case_id)


def send_writebacks() -> list[str]:
    return [writeback_send(writeback_id=pk) for pk in WriteBack.objects.order_by("pk").values_list("pk", flat=True)]
