"""A Douyin shop connected to the local Douyin simulator (tests/simulators/douyin.py), and helpers to push to
kefu as the platform does and to send the write-backs.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which verifies the gateway's
signature and param_json independently, keeps the cases' states and update times, and answers in the gateway's
shapes ({code, msg, sub_code, sub_msg, data}).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from connectors.models import ShopConnection, WriteBack
from connectors.services.sync import inbox_process
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import ticket_of
from tests.factories.orders import ShopFactory
from tests.simulators.douyin import ACCESS_TOKEN, APP_KEY, APP_SECRET, DouyinSimulator, douyin_running, event_sign


@pytest.fixture
def douyin() -> Iterator[DouyinSimulator]:
    with douyin_running() as simulator:
        yield simulator


@pytest.fixture
def connection(db: Any, douyin: DouyinSimulator, settings: Any) -> ShopConnection:
    settings.KEFU_DOUYIN_REJECT_REASON_CODE = "4"
    return ShopConnection.objects.create(
        shop=ShopFactory(code="douyin-flagship"),
        platform="douyin",
        external_id=douyin.shop_id,
        base_url=douyin.url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
        return_address_id="70001",
    )


def push(client: Any, *messages: dict[str, Any], secret: str = APP_SECRET) -> Any:
    """POST a JSON array of messages to kefu's push URL, signed as the platform signs it."""
    body = json.dumps(list(messages), ensure_ascii=False).encode()
    return client.post(
        reverse("connectors:push", kwargs={"platform": "douyin"}),
        body,
        content_type="application/json",
        HTTP_EVENT_SIGN=event_sign(APP_KEY, secret, body),
    )


def arrive_by_push(client: Any, douyin: DouyinSimulator, case_id: str, tag: int = 200) -> Any:
    response = push(client, douyin.message(case_id, tag))
    assert response.status_code == 200, response.content
    assert response.json() == {"code": 0, "msg": "success"}
    inbox_process()
    return ticket_of(case_id)


def send_writebacks() -> list[str]:
    return [writeback_send(writeback_id=pk) for pk in WriteBack.objects.order_by("pk").values_list("pk", flat=True)]
