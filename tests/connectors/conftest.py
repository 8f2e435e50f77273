"""A Taobao shop connected to the local TOP simulator, and helpers to push to kefu as the platform does."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from connectors.models import PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.services.writeback import writeback_send
from tests.factories.orders import ShopFactory
from tests.simulators.base import kefu_push_signature
from tests.simulators.taobao import APP_KEY, APP_SECRET, SESSION, TaobaoSimulator, taobao_running
from tickets.models import EventType, Ticket, TicketEvent


@pytest.fixture
def taobao() -> Iterator[TaobaoSimulator]:
    with taobao_running() as simulator:
        yield simulator


@pytest.fixture
def connection(db: Any, taobao: TaobaoSimulator) -> ShopConnection:
    return ShopConnection.objects.create(
        shop=ShopFactory(code="tmall-flagship"),
        platform="taobao",
        external_id=taobao.seller_nick,
        base_url=taobao.url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=SESSION,
        return_address_id="5001",
    )


def push(client: Client, *messages: dict[str, Any], secret: str = APP_SECRET) -> Any:
    """POST TMC-shaped messages to kefu's push URL, signed as the bridge signs them."""
    body = json.dumps(messages[0] if len(messages) == 1 else list(messages), ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    return client.post(
        reverse("connectors:push", kwargs={"platform": "taobao"}),
        body,
        content_type="application/json",
        HTTP_X_KEFU_TIMESTAMP=timestamp,
        HTTP_X_KEFU_SIGNATURE=kefu_push_signature(secret, timestamp, body),
    )


def ticket_of(case_id: str) -> Ticket:
    case = PlatformCase.objects.get(case_id=case_id)
    assert case.ticket is not None, case.last_error
    return case.ticket.as_kind()


def timeline(ticket: Ticket) -> list[tuple[str, str, str]]:
    """(event type, transition, actor kind) of each entry, oldest first."""
    return list(
        TicketEvent.objects.filter(ticket_id=ticket.pk)
        .order_by("created_at", "pk")
        .values_list("event_type", "transition", "actor_kind")
    )


def transitions(ticket: Ticket) -> list[tuple[str, str]]:
    """(transition, actor kind) of each transition on the timeline, oldest first."""
    return [(name, who) for kind, name, who in timeline(ticket) if kind == EventType.TRANSITION]


def send_pending_writebacks() -> list[str]:
    """Send every pending write-back now, oldest first; the outcome of each."""
    pending = WriteBack.objects.filter(status=WriteBackStatus.PENDING).order_by("pk")
    return [writeback_send(writeback_id=pk) for pk in pending.values_list("pk", flat=True)]
