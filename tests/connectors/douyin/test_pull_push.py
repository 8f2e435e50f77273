"""The Douyin shop connector against the local simulator (tests/simulators/douyin.py): cases arriving by push
and by pull.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.base import CaseKind, CaseStatus
from connectors.models import InboxMessage, PlatformCase
from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, inbox_process
from orders.models import Order
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.douyin.conftest import arrive_by_push, push
from tickets.models import EventType

pytestmark = pytest.mark.django_db


def test_a_case_created_on_douyin_arrives_by_push_with_its_order_and_the_platform_deadline(client, connection, douyin):
    case = douyin.create("refund_only", deadline_hours=10)

    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", True)
    assert ticket.requested_amount == Decimal("129.90")  # 12990 fen on the platform
    order_id = douyin.cases[case["aftersale_id"]]["order_info"]["order_id"]
    assert ticket.order.number == order_id and ticket.order.shop == connection.shop
    assert Order.objects.filter(number=order_id).count() == 1
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert ticket.due_at == deadline - timedelta(minutes=120)
    assert timeline(ticket)[0] == (EventType.CREATED, "", "platform")


def test_cases_arrive_by_pull_over_pages_counted_from_zero_oldest_change_first(connection, douyin):
    ids = [douyin.create("return_refund")["aftersale_id"] for _ in range(105)]

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 105 and result.pages == 2
    assert douyin.list_pages == [0, 1]  # page 0 is the first page on Douyin
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 105
    connection.refresh_from_db()
    assert connection.last_pull_at is not None and connection.pull_errors == 0


def test_a_push_and_a_pull_of_the_same_change_make_one_ticket_and_one_timeline_entry(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    entries = timeline(ticket)

    connection_pull(connection_id=connection.pk)
    push(client, douyin.message(case["aftersale_id"], 200, msg_id="another-copy"))
    inbox_process()

    assert PlatformCase.objects.filter(case_id=case["aftersale_id"]).count() == 1
    assert timeline(ticket_of(case["aftersale_id"])) == entries


def test_a_duplicated_push_is_stored_once_and_an_out_of_order_snapshot_changes_nothing(client, connection, douyin):
    case = douyin.create("return_refund")
    message = douyin.message(case["aftersale_id"], 200)
    push(client, message)
    push(client, message)
    assert InboxMessage.objects.filter(message_id=message["msg_id"]).count() == 1
    inbox_process()
    connector = connector_for(connection)
    older = connector.fetch(case["aftersale_id"])
    douyin.buyer_cancels(case["aftersale_id"])
    newer = connector.fetch(case["aftersale_id"])

    assert case_ingest(connection=connection, snapshot=newer).outcome == "updated"
    entries = timeline(ticket_of(case["aftersale_id"]))
    assert case_ingest(connection=connection, snapshot=older).outcome == "stale"  # the late one

    assert ticket_of(case["aftersale_id"]).state == "cancelled"
    assert timeline(ticket_of(case["aftersale_id"])) == entries


def test_a_push_with_a_bad_signature_is_refused_and_not_stored(client, connection, douyin):
    case = douyin.create("refund_only")

    response = push(client, douyin.message(case["aftersale_id"]), secret="not-the-secret")

    assert response.status_code == 403
    assert not InboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("changes", "raw_type", "raw_status"),
    [({"aftersale_status": 99}, "1", "99"), ({"aftersale_type": 6}, "6", "6")],  # a new status; 价保
)
def test_an_unknown_code_is_kept_raw_and_flagged_without_a_ticket(connection, douyin, changes, raw_type, raw_status):
    case = douyin.create("refund_only", **changes)

    result = case_ingest(connection=connection, snapshot=connector_for(connection).fetch(case["aftersale_id"]))

    stored = PlatformCase.objects.get(case_id=case["aftersale_id"])
    assert result.outcome == "unknown" and stored.unknown and stored.ticket is None
    assert (stored.raw_type, stored.raw_status) == (raw_type, raw_status)


def test_the_kinds_map_to_kefus_tickets(client, connection, douyin):
    exchange = douyin.create("exchange")
    resend = douyin.create("refund_only", aftersale_type=7, refund_amount=0)

    assert arrive_by_push(client, douyin, exchange["aftersale_id"]).kind == "exchange"
    logistics = arrive_by_push(client, douyin, resend["aftersale_id"])
    assert (logistics.kind, logistics.exception_type) == ("logistics", "missing_item")


def test_platform_arbitration_is_read_from_arbitrate_status(connection, douyin):
    case = douyin.create("refund_only", aftersale_status=27, arbitrate_status=1)

    snapshot = connector_for(connection).fetch(case["aftersale_id"])

    assert (snapshot.status, snapshot.arbitration, snapshot.raw_status) == (
        CaseStatus.ARBITRATION,
        True,
        "27/arbitrate_status=1",
    )
    assert snapshot.kind == CaseKind.REFUND_ONLY and snapshot.merchant_deadline is None


def test_a_case_on_one_line_of_a_two_line_order_opens_the_whole_order_and_asks_for_that_line(
    client, connection, douyin
):
    case = douyin.create("refund_only")
    order = douyin.cases[case["aftersale_id"]]["order_info"]
    other = dict(order["related_order_info"][0], order_id="1", shop_sku_code="GLOVES-GREY", product_name="手套")
    order["related_order_info"].append(dict(other, pay_amount=3900, price=3900, aftersale_item_num=0))

    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    assert sorted(ticket.order.lines.values_list("sku", flat=True)) == ["GLOVES-GREY", "SCARF-CAMEL"]
    assert list(ticket.lines.values_list("order_line__sku", flat=True)) == ["SCARF-CAMEL"]
