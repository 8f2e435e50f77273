"""A Pinduoduo shop connected to the local PDD simulator (tests/simulators/pdd.py), and helpers to push to kefu
as the platform does and to send the write-backs.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which verifies PDD's signature
independently, keeps the cases' statuses and update times, and answers in PDD's shapes (the list's codes and
yuan amounts, the detail's codes and fen). Pushes are PMC ``Common`` frames posted as the HTTP bridge posts them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from connectors.models import PlatformCase, ShopConnection, WriteBack
from connectors.services.sync import inbox_process
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import timeline
from tests.factories.orders import ShopFactory
from tests.simulators.pdd import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    PddSimulator,
    bridge_signature,
    pdd_running,
)
from tickets.models import EventType, Ticket


@pytest.fixture
def pdd() -> Iterator[PddSimulator]:
    with pdd_running() as simulator:
        yield simulator


@pytest.fixture
def connection(db: Any, pdd: PddSimulator) -> ShopConnection:
    return ShopConnection.objects.create(
        shop=ShopFactory(code="pdd-flagship"),
        platform="pdd",
        external_id=pdd.mall_id,
        base_url=pdd.url,
        app_key=CLIENT_ID,
        app_secret=CLIENT_SECRET,
        access_token=ACCESS_TOKEN,
        return_address_id="8001",
    )


def push(client: Client, *frames: dict[str, Any], secret: str = CLIENT_SECRET) -> Any:
    """POST PMC frames to kefu's push URL, signed as the bridge signs them."""
    body = json.dumps(frames[0] if len(frames) == 1 else list(frames), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    return client.post(
        reverse("connectors:push", kwargs={"platform": "pdd"}),
        body,
        content_type="application/json",
        HTTP_X_KEFU_TIMESTAMP=timestamp,
        HTTP_X_KEFU_SIGNATURE=bridge_signature(secret, timestamp, body),
    )


def ticket_of(pdd: PddSimulator, after_sales_id: Any) -> Ticket:
    case = PlatformCase.objects.get(case_id=pdd.case_id(str(after_sales_id)))
    assert case.ticket is not None, case.last_error
    return case.ticket.as_kind()


def arrive_by_push(client: Client, pdd: PddSimulator, after_sales_id: Any, kind: str = "RefundCreated") -> Ticket:
    response = push(client, pdd.frame(str(after_sales_id), kind))
    assert response.status_code == 200, response.content
    inbox_process()
    return ticket_of(pdd, after_sales_id)


def send_writebacks() -> list[str]:
    return [writeback_send(writeback_id=pk) for pk in WriteBack.objects.order_by("pk").values_list("pk", flat=True)]


def transitions(ticket: Ticket) -> list[tuple[str, str]]:
    return [(e[1], e[2]) for e in timeline(ticket) if e[0] == EventType.TRANSITION]
