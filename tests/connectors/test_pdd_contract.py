"""The Pinduoduo connector against the local PDD simulator (tests/simulators/pdd.py): what a merchant sees.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which verifies PDD's signature
independently, keeps the cases' statuses and update times, and answers in PDD's shapes (the list's codes and
yuan amounts, the detail's codes and fen). Pushes are PMC ``Common`` frames posted as the HTTP bridge posts them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from connectors.base import Command, CommandName, ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.platforms.pdd import PddConnector
from connectors.platforms.pdd_pmc import pmc_heartbeat, pmc_receive, pmc_url
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from connectors.services.writeback import writeback_send
from orders.models import Order
from tests.connectors.conftest import timeline
from tests.factories.orders import ShopFactory
from tests.factories.tickets import staff_actor
from tests.simulators.pdd import (
    ACCESS_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    PddSimulator,
    bridge_signature,
    fixture,
    pdd_running,
)
from tickets.models import EventType, Priority, Refund, RefundStatus, Ticket
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


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


# -- arriving ---------------------------------------------------------------------------------------------


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


def test_a_case_with_an_unreadable_field_is_a_permanent_error_of_that_push_not_a_crash(client, connection, pdd):
    broken, fine = pdd.create("refund_only", goods_number="一件"), pdd.create("refund_only")
    push(client, pdd.frame(str(broken["id"])))
    push(client, pdd.frame(str(fine["id"])))

    result = inbox_process()

    assert (result.processed, result.failed) == (1, 1)
    failed = InboxMessage.objects.get(case_id=pdd.case_id(str(broken["id"])))
    assert failed.error.startswith("permanent: unreadable_case") and failed.processed_at is not None
    assert ticket_of(pdd, fine["id"]).state == "requested"


def test_one_unreadable_case_does_not_stop_the_pull(connection, pdd):
    broken = pdd.create("return_refund", after_sales_status=7, goods_number="一件")
    gone = pdd.create("refund_only")
    fine = pdd.create("refund_only")
    pdd.detail_missing.add(str(gone["id"]))  # the detail answers 50001 售后单不存在 for it

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 3
    flagged = PlatformCase.objects.get(case_id=pdd.case_id(str(broken["id"])))
    assert flagged.unknown and flagged.raw_type == "unreadable" and flagged.ticket is None
    listed = ticket_of(pdd, gone["id"])  # from its list row: no deadline until its detail can be read
    assert listed.state == "requested" and listed.platform_due_at is None
    assert ticket_of(pdd, fine["id"]).platform_due_at is not None


def test_unknown_codes_are_kept_raw_and_flagged_without_a_ticket(connection, pdd):
    new_status = pdd.create("refund_only", after_sales_status=99)
    repair = pdd.create("refund_only", after_sales_type=5)  # 维修: kefu has no repair kind
    connector = connector_for(connection)

    for case in (new_status, repair):
        result = case_ingest(connection=connection, snapshot=connector.fetch(pdd.case_id(str(case["id"]))))
        assert result.outcome == "unknown" and result.case.unknown and result.case.ticket is None

    assert PlatformCase.objects.get(case_id=pdd.case_id(str(new_status["id"]))).raw_status == "99"
    assert PlatformCase.objects.get(case_id=pdd.case_id(str(repair["id"]))).raw_type == "5"


# -- the platform acting on its own ------------------------------------------------------------------------


def test_a_platform_timeout_auto_agrees_and_kefu_records_it_as_the_platforms_transition(client, connection, pdd):
    case = pdd.create("return_refund", deadline_hours=48)
    arrive_by_push(client, pdd, case["id"])

    assert pdd.advance(timedelta(hours=49)) == [str(case["id"])]
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")

    assert ticket.state == "awaiting_return"
    assert transitions(ticket) == [("approve", "platform")]
    assert ticket.platform_due_at is None  # the buyer acts now
    assert not WriteBack.objects.exists()


def test_the_buyers_return_waybill_moves_the_ticket_and_gives_the_merchant_a_new_deadline(client, connection, pdd):
    case = pdd.create("return_refund", after_sales_status=7)
    arrive_by_push(client, pdd, case["id"])

    pdd.buyer_returns(str(case["id"]))
    ticket = arrive_by_push(client, pdd, case["id"], "RefundBuyerModifyAgreement")

    assert ticket.state == "return_in_transit"
    assert transitions(ticket)[-1] == ("ship_back", "platform")
    assert ticket.platform_due_at is not None and ticket.platform_due_at > timezone.now() + timedelta(days=9)


def test_a_lost_push_is_repaired_by_reconciliation(client, connection, pdd):
    case = pdd.create("return_refund")
    arrive_by_push(client, pdd, case["id"])
    pdd.buyer_cancels(str(case["id"]))  # the frame about it never arrives

    report = connection_reconcile(connection_id=connection.pk)

    assert (report.checked, report.repaired, report.errors) == (1, 1, 0)
    ticket = ticket_of(pdd, case["id"])
    assert ticket.state == "cancelled" and transitions(ticket)[-1] == ("cancel", "platform")
    assert connection_reconcile(connection_id=connection.pk).repaired == 0


# -- staff decisions written back ---------------------------------------------------------------------------


def test_approving_a_return_in_kefu_agrees_it_on_pdd_with_the_shops_return_address(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 7
    api, request = pdd.writes[-1]
    assert api == "pdd.refund.returngoods.agree" and request["return_address_id"] == "8001"
    assert (request["after_sales_id"], request["order_sn"]) == (case["id"], case["order_sn"])
    # PDD's own report of that change afterwards does not run the approval a second time.
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")
    assert [name for name, _actor in transitions(ticket)] == ["approve"]


def test_without_an_address_on_the_connection_the_shops_default_return_address_is_used(client, connection, pdd):
    ShopConnection.objects.filter(pk=connection.pk).update(return_address_id="")
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert pdd.calls[-2:] == ["pdd.refund.address.list.get", "pdd.refund.returngoods.agree"]
    assert pdd.writes[-1][1]["return_address_id"] == "8002"  # the one marked is_default


def test_a_refund_only_approved_in_kefu_is_refunded_by_pdd_and_settled_in_kefu(client, connection, pdd):
    case = pdd.create("refund_only")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert pdd.writes[-1][0] == "pdd.refund.agree"
    pdd.advance(timedelta(minutes=5))  # PDD pays out the agreed refund (4 → 10)
    ticket = arrive_by_push(client, pdd, case["id"], "RefundAgreeAgreement")

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED
    assert paid.gateway_reference == f"pdd:{pdd.case_id(str(case['id']))}"


def test_rejecting_in_kefu_hands_the_ticket_back_because_pdd_has_no_refuse_api(client, connection, pdd):
    case = pdd.create("refund_only")
    ticket = arrive_by_push(client, pdd, case["id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货，请先拒收")

    assert send_writebacks() == ["dead"]
    assert pdd.calls == ["pdd.refund.information.get"]  # nothing was sent to PDD
    ticket = ticket_of(pdd, case["id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "商家后台" in escalation.reason


def test_a_rate_limited_write_back_is_retried_later_and_then_goes_through(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    pdd.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and row.attempts == 1 and "rate_limited: 70031" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert writeback_send(writeback_id=row.pk) == "skipped"

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 7
    assert pdd.errors == ["70031"]


def test_a_rate_limited_pull_keeps_its_cursor_and_the_next_pull_catches_up(connection, pdd):
    case = pdd.create("refund_only")
    pdd.rate_limit_next = 1

    failed = connection_pull(connection_id=connection.pk)
    assert failed.error.startswith("rate_limited: 70031")
    assert connection_pull(connection_id=connection.pk).cases == 1
    assert PlatformCase.objects.filter(case_id=pdd.case_id(str(case["id"])), ticket__isnull=False).exists()


def test_a_refusal_by_pdd_returns_the_ticket_to_the_staff_with_the_platforms_message(client, connection, pdd):
    case = pdd.create("return_refund")
    ticket = arrive_by_push(client, pdd, case["id"])
    pdd.buyer_cancels(str(case["id"]))  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    ticket = ticket_of(pdd, case["id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "当前售后单状态不允许同意退货" in escalation.reason


def test_a_partial_refund_is_not_sent_as_a_full_one(connection, pdd):
    case = pdd.create("refund_only")
    connector = PddConnector(connection)
    snapshot = connector.fetch(pdd.case_id(str(case["id"])))
    command = Command(
        CommandName.AGREE_REFUND,
        case_id=snapshot.case_id,
        amount_fen=1000,
        extra=PddConnector.command_extra(snapshot.raw),
    )

    with pytest.raises(PlatformError) as refused:
        connector.agree_refund(command)

    assert refused.value.kind == ErrorKind.PERMANENT and refused.value.code == "partial_refund"
    assert pdd.writes == [] and pdd.detail(str(case["id"]))["after_sales_status"] == 2


def test_a_call_signed_with_another_secret_is_refused_by_the_platform(connection, pdd):
    case = pdd.create("refund_only")
    connection.app_secret = "not-the-secret"

    with pytest.raises(PlatformError) as refused:
        PddConnector(connection).fetch(pdd.case_id(str(case["id"])))

    assert refused.value.kind == ErrorKind.PERMANENT and pdd.errors == ["20004"]


# -- PMC: the WebSocket's frames, handled without I/O ------------------------------------------------------


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


def test_an_access_token_about_to_expire_is_refreshed_before_the_pull(connection, pdd):
    connection.refresh_token = pdd.refresh_token
    connection.token_expires_at = timezone.now() + timedelta(minutes=10)
    connection.save()
    case = pdd.create("refund_only")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 1, result
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert stored.access_token == pdd.access_token == "sim-pdd-token-refreshed-1"
    assert stored.refresh_token == "sim-pdd-refresh-2"
    assert stored.token_expires_at > timezone.now() + timedelta(hours=23)
    assert pdd.calls[0] == "pdd.pop.auth.token.refresh"
    assert PlatformCase.objects.filter(case_id=pdd.case_id(str(case["id"]))).exists()


def test_a_return_inspected_in_kefu_is_refunded_on_pdd_and_a_partial_one_goes_back_to_the_staff(
    client, connection, pdd
):
    whole, partial = (
        pdd.create("return_refund", after_sales_status=7),
        pdd.create("return_refund", after_sales_status=7),
    )
    for waybill, case in enumerate((whole, partial)):
        arrive_by_push(client, pdd, case["id"])
        pdd.buyer_returns(str(case["id"]), waybill=f"ZT77001122{waybill}")
        ticket = arrive_by_push(client, pdd, case["id"], "RefundBuyerModifyAgreement")
        ticket = ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="receive")
    warehouse = staff_actor("warehouse")
    ticket_act(ticket=ticket_of(pdd, whole["id"]), actor=warehouse, action="pass_inspection")
    ticket_act(
        ticket=ticket_of(pdd, partial["id"]),
        actor=warehouse,
        action="pass_inspection_partly",
        amount=Decimal("100.00"),
        reason="吊牌已剪",
    )

    # Two receipts (kefu-side: nothing to call on PDD), the whole refund, the partial one refused by kefu itself.
    assert send_writebacks() == ["sent", "sent", "sent", "dead"]
    assert len(pdd.writes) == 1 and pdd.writes[-1] == (
        "pdd.refund.agree",
        {"after_sales_id": whole["id"], "order_sn": whole["order_sn"], "operate_desc": "同意退款"},
    )
    pdd.advance(timedelta(minutes=5))
    assert arrive_by_push(client, pdd, whole["id"], "RefundAgreeAgreement").state == "refunded"
    held = ticket_of(pdd, partial["id"])
    assert held.state == "refund_pending" and held.priority == Priority.URGENT
    assert pdd.detail(str(partial["id"]))["after_sales_status"] == 3  # nothing refunded on PDD


def test_a_push_whose_detail_does_not_come_in_time_is_retried_from_the_inbox(settings, client, connection, pdd):
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.5
    case = pdd.create("refund_only")
    pdd.stall_next, pdd.stall = 1, 2.0
    assert push(client, pdd.frame(str(case["id"]))).status_code == 200

    first = inbox_process()

    assert (first.processed, first.retried) == (0, 1)
    stored = InboxMessage.objects.get()
    assert stored.processed_at is None and stored.error.startswith("transient: network")
    assert inbox_process(now=stored.next_attempt_at + timedelta(seconds=1)).processed == 1
    assert ticket_of(pdd, case["id"]).state == "requested"


def test_a_replacement_shipped_in_kefu_gives_pdd_its_waybill_with_pdds_carrier_id(connection, pdd):
    case = pdd.create("refund_only", after_sales_type=3, after_sales_status=14)  # 换货, the merchant to act
    connector = PddConnector(connection)
    key = pdd.case_id(str(case["id"]))

    connector.ship_exchange(Command(CommandName.SHIP_EXCHANGE, case_id=key, carrier="中通快递", waybill="ZT99001"))

    api, request = pdd.writes[-1]
    assert api == "pdd.refund.exchange.shipping"
    assert (request["shipping_id"], request["tracking_number"]) == (115, "ZT99001")
    assert pdd.detail(str(case["id"]))["after_sales_status"] == 18
    with pytest.raises(PlatformError) as unknown:
        connector.ship_exchange(Command(CommandName.SHIP_EXCHANGE, case_id=key, carrier="不存在快递", waybill="X1"))
    assert unknown.value.kind == ErrorKind.PERMANENT and unknown.value.code == "unknown_carrier"
    with pytest.raises(PlatformError) as resend:
        connector.ship_resend(Command(CommandName.SHIP_RESEND, case_id=key, carrier="中通快递", waybill="ZT99002"))
    assert resend.value.kind == ErrorKind.PERMANENT and len(pdd.writes) == 1


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
