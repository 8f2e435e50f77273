"""The Pinduoduo connector against the local simulator (tests/simulators/pdd.py): cases arriving by push and by pull.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import InboxMessage, PlatformCase
from connectors.platforms import connector_for
from connectors.platforms.pdd_pmc import pmc_heartbeat, pmc_receive, pmc_url
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, inbox_process
from orders.models import Order
from tests.connectors.conftest import timeline
from tests.connectors.pdd.conftest import arrive_by_push, push, send_writebacks, ticket_of
from tests.factories.tickets import staff_actor
from tests.simulators.pdd import (
    CLIENT_ID,
    CLIENT_SECRET,
    fixture,
)
from tickets.models import EventType, Ticket
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


def test_a_case_created_on_pdd_arrives_by_push_with_its_order_and_the_platform_deadline(client, connection, pdd):
    case = pdd.create("refund_only", deadline_hours=10)

    ticket = arrive_by_push(client, pdd, case["id"])

    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", True)
    assert ticket.requested_amount == Decimal("19.90")  # 1990 fen in the detail
    assert ticket.order.number == case["order_sn"] and ticket.order.shop == connection.shop
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert ticket.due_at == deadline - timedelta(minutes=120)
    assert timeline(ticket)[0] == (EventType.CREATED, "", "platform")
    stored = PlatformCase.objects.get(ticket_id=ticket.pk)
    assert (stored.case_id, stored.raw_type, stored.raw_status) == (pdd.case_id(str(case["id"])), "1", "2")
    assert pdd.calls == ["pdd.refund.information.get"]


def test_cases_arrive_by_pull_over_several_pages_each_read_with_its_deadline(connection, pdd):
    ids = [pdd.create("refund_only")["id"] for _ in range(105)]

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 105 and result.pages == 2
    assert pdd.calls.count("pdd.refund.list.increment.get") == 2  # 100 + 5, by total_count
    # Waiting for the merchant: each re-read with its detail, the only place expire_time is.
    assert pdd.calls.count("pdd.refund.information.get") == 105
    cases = PlatformCase.objects.filter(case_id__in=[pdd.case_id(str(i)) for i in ids], ticket__isnull=False)
    assert cases.count() == 105
    assert not Ticket.objects.filter(platform_due_at__isnull=True).exists()
    assert pdd.errors == []


def test_a_case_read_from_the_list_has_the_same_kind_and_amount_as_from_the_detail(connection, pdd):
    """The list says 退货退款 with type 3 and ¥159.00; the detail type 2 and 15900 fen: one ticket, one amount."""
    case = pdd.create("return_refund", after_sales_status=7)  # already agreed: the list row is enough

    assert connection_pull(connection_id=connection.pk).cases == 1

    assert "pdd.refund.information.get" not in pdd.calls
    ticket = ticket_of(pdd, case["id"])
    assert (ticket.state, ticket.refund_only, ticket.requested_amount) == ("awaiting_return", False, Decimal("159.00"))
    stored = PlatformCase.objects.get(ticket_id=ticket.pk)
    assert (stored.kind, stored.raw_type, stored.refund_fen) == ("return_refund", "2", 15900)
    detail = connector_for(connection).fetch(stored.case_id)
    assert (detail.kind, detail.raw_type, detail.refund_fen) == (stored.kind, stored.raw_type, stored.refund_fen)


def test_a_pull_never_asks_for_more_than_thirty_minutes(settings, connection, pdd):
    settings.KEFU_CONNECTOR_PULL_WINDOW_SECONDS = 6 * 3600
    connection.pull_cursor = connector_for(connection).cursor_at(timezone.now() - timedelta(hours=2))
    connection.save()
    pdd.create("refund_only")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 1
    assert pdd.calls.count("pdd.refund.list.increment.get") == 5  # 2 h in windows of 30 minutes, up to now
    assert pdd.errors == []


def test_a_push_and_a_pull_of_the_same_change_make_one_ticket_and_one_timeline_entry(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])
    entries = timeline(ticket)

    connection_pull(connection_id=connection.pk)
    push(client, pdd.frame(str(case["id"]), "RefundCreated"))  # another frame id, the same change
    inbox_process()

    assert PlatformCase.objects.filter(connection=connection).count() == 1
    assert timeline(ticket_of(pdd, case["id"])) == entries


def test_a_duplicated_frame_is_stored_once_and_an_older_snapshot_changes_nothing(client, connection, pdd):
    case = pdd.create("return_refund")
    frame = pdd.frame(str(case["id"]))
    push(client, frame)
    push(client, frame)
    assert InboxMessage.objects.filter(message_id=str(frame["id"])).count() == 1
    inbox_process()
    connector = connector_for(connection)
    key = pdd.case_id(str(case["id"]))
    older = connector.fetch(key)
    pdd.buyer_cancels(str(case["id"]))
    newer = connector.fetch(key)

    assert case_ingest(connection=connection, snapshot=newer).outcome == "updated"
    entries = timeline(ticket_of(pdd, case["id"]))
    assert case_ingest(connection=connection, snapshot=older).outcome == "stale"

    assert ticket_of(pdd, case["id"]).state == "cancelled"
    assert timeline(ticket_of(pdd, case["id"])) == entries


def test_two_changes_within_one_second_still_apply_in_order(client, connection, pdd):
    """PDD's updated_time has whole seconds and no version: a refund agreed and paid in the same second."""
    case = pdd.create("refund_only")
    ticket = arrive_by_push(client, pdd, case["id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert send_writebacks() == ["sent"]  # agreed on PDD: status 4 (退款中)
    agreed = connector_for(connection).fetch(pdd.case_id(str(case["id"])))
    pdd.advance(timedelta(0))  # paid out (10) ...
    pdd.cases[str(case["id"])]["updated_time"] = agreed.raw["updated_time"]  # ... within the same second

    assert case_ingest(connection=connection, snapshot=agreed).outcome == "updated"
    paid = connector_for(connection).fetch(pdd.case_id(str(case["id"])))
    assert paid.modified_at == agreed.modified_at and paid.raw_status == "10"
    assert case_ingest(connection=connection, snapshot=paid).outcome == "updated"
    assert case_ingest(connection=connection, snapshot=agreed).outcome == "stale"  # and not the other way round


def test_a_push_with_a_bad_signature_is_refused_and_not_stored(client, connection, pdd):
    case = pdd.create("refund_only")

    response = push(client, pdd.frame(str(case["id"])), secret="not-the-secret")

    assert response.status_code == 403
    assert not InboxMessage.objects.exists()


def test_a_request_mixing_two_malls_frames_is_refused_and_not_stored(client, connection, pdd):
    case = pdd.create("refund_only")
    other = pdd.frame(str(case["id"]))
    other["message"]["mallID"] = 990099  # another mall of the same app

    response = push(client, pdd.frame(str(case["id"])), other)

    assert response.status_code == 403
    assert not InboxMessage.objects.exists()


def test_pmc_frames_become_messages_and_acks_the_platform_accepts(client, connection, pdd):
    case = pdd.create("refund_only")
    frames = [pdd.frame(str(case["id"])), pdd.frame(str(case["id"]), "RefundClosed")]
    trade = pdd.frame(str(case["id"]), topic="pdd_trade_TradeSuccess")

    assert push(client, *frames, trade).status_code == 200  # the bridge acks once kefu answered 200
    outcomes = [pmc_receive(json.dumps(f), now_ms=int(time.time() * 1000)) for f in (*frames, trade)]

    assert all(pdd.ack(o.ack) for o in outcomes if o.ack) and pdd.unacked == {}
    assert [len(o.messages) for o in outcomes] == [1, 1, 0]  # other message types: acknowledged, dropped
    assert outcomes[0].messages[0].case_id == pdd.case_id(str(case["id"]))
    assert InboxMessage.objects.filter(platform="pdd").count() == 2


def test_the_documented_common_frame_reads_as_its_case_and_is_acknowledged_in_pmc_s_shape():
    frame = fixture("pmc_common")

    outcome = pmc_receive(json.dumps(frame), now_ms=1765000001000)

    (message,) = outcome.messages
    assert (message.message_id, message.topic) == ("480011223344", "pdd_refund_RefundCreated")
    assert message.case_id == "7381745730:261206-339507978993455"
    assert message.modified_at is not None and int(message.modified_at.timestamp() * 1000) == 1765000000016
    assert json.loads(outcome.ack or "") == {
        "commandType": "Ack",
        "time": 1765000001000,
        "id": 480011223344,
        "sendTime": 1765000000100,
        "type": "pdd_refund_RefundCreated",
        "mallID": 171504183,
    }


def test_pmc_heartbeats_fail_frames_and_garbage_are_not_acknowledged(pdd):
    heartbeat = pmc_receive(pmc_heartbeat(1765000000000), now_ms=1)
    fail = pmc_receive('{"commandType":"Fail","message":"sign error"}', now_ms=1)
    garbage = pmc_receive("not json", now_ms=1)

    assert (heartbeat.command, heartbeat.ack, heartbeat.messages, heartbeat.error) == ("HeartBeat", None, (), "")
    assert fail.ack is None and fail.error == "sign error"
    assert garbage.ack is None and garbage.error.startswith("unreadable frame")
    ms = int(time.time() * 1000)
    assert pdd.pmc_url_accepted(pmc_url(CLIENT_ID, CLIENT_SECRET, ms))
    assert not pdd.pmc_url_accepted(pmc_url(CLIENT_ID, "not-the-secret", ms))


def test_orders_kefu_has_not_seen_are_created_from_the_case(client, connection, pdd):
    case = pdd.create("return_refund")

    arrive_by_push(client, pdd, case["id"])

    order = Order.objects.get(number=case["order_sn"])
    line = order.lines.get()
    assert (line.sku, line.quantity, line.paid_amount) == (case["sku_id"], 1, Decimal("159.00"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the reasons the data migrations made
def test_the_bridge_posts_frames_over_http_and_acks_each_once_kefu_answered(live_server, connection, pdd):
    case = pdd.create("refund_only")
    frame = pdd.frame(str(case["id"]))

    status, _body = pdd.push(live_server.url + reverse("connectors:push", kwargs={"platform": "pdd"}), frame)
    assert status == 200
    assert pdd.ack(pmc_receive(frame, now_ms=int(time.time() * 1000)).ack or "")

    inbox_process()
    assert pdd.unacked == {} and ticket_of(pdd, case["id"]).state == "requested"
    refused, _ = pdd.push(live_server.url + "/connectors/pdd/push/", pdd.frame(str(case["id"])), secret="wrong")
    assert refused == 403 and len(pdd.unacked) == 1  # not stored, so not acknowledged: PMC will redeliver it
