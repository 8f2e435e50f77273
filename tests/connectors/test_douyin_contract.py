"""The Douyin shop (抖店) connector against the local gateway simulator (tests/simulators/douyin.py).

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which verifies the gateway's
signature and param_json independently, keeps the cases' states and update times, and answers in the gateway's
shapes ({code, msg, sub_code, sub_msg, data}).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.base import CaseKind, CaseStatus, Command, CommandName, ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.platforms.douyin import DouyinConnector, param_json
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from connectors.services.writeback import writeback_send
from orders.models import Order
from tests.connectors.conftest import ticket_of, timeline
from tests.factories.orders import ShopFactory
from tests.factories.tickets import staff_actor
from tests.simulators.douyin import ACCESS_TOKEN, APP_KEY, APP_SECRET, DouyinSimulator, douyin_running, event_sign
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


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


# -- arriving ---------------------------------------------------------------------------------------------


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


# -- the platform acting on its own ------------------------------------------------------------------------


def test_a_platform_timeout_auto_agrees_and_kefu_records_it_as_the_platforms_transition(client, connection, douyin):
    case = douyin.create("return_refund", deadline_hours=48)
    arrive_by_push(client, douyin, case["aftersale_id"])

    assert douyin.advance(timedelta(hours=49)) == [case["aftersale_id"]]
    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 202)

    assert ticket.state == "awaiting_return"
    approval = [e for e in timeline(ticket) if e[0] == EventType.TRANSITION]
    assert approval == [(EventType.TRANSITION, "approve", "platform")]
    assert ticket.platform_due_at is None  # the buyer acts now; status_deadline is theirs
    assert not WriteBack.objects.exists()


def test_a_lost_push_is_repaired_by_reconciliation(client, connection, douyin):
    case = douyin.create("return_refund")
    arrive_by_push(client, douyin, case["aftersale_id"])
    douyin.buyer_cancels(case["aftersale_id"])  # the push about it never arrives

    report = connection_reconcile(connection_id=connection.pk)

    assert (report.checked, report.repaired, report.errors) == (1, 1, 0)
    ticket = ticket_of(case["aftersale_id"])
    assert ticket.state == "cancelled"
    assert timeline(ticket)[-1][1:] == ("cancel", "platform")
    assert connection_reconcile(connection_id=connection.pk).repaired == 0


def test_the_buyers_return_waybill_moves_the_ticket_and_the_platform_refunds_unanswered(client, connection, douyin):
    case = douyin.create("return_refund")
    arrive_by_push(client, douyin, case["aftersale_id"])
    douyin.advance(timedelta(hours=49))  # auto-agreed: 待买家退货
    douyin.buyer_returns(case["aftersale_id"], code="YT1234567890")

    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 203)
    assert ticket.state == "return_in_transit" and ticket.platform_due_at is not None

    douyin.advance(timedelta(days=11))  # nobody agreed the refund: the platform refunds
    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 206)
    assert ticket.state == "refunded"
    assert [e[1:] for e in timeline(ticket) if e[0] == EventType.TRANSITION] == [
        ("approve", "platform"),
        ("ship_back", "platform"),
        ("auto_refund", "platform"),
        ("complete_refund", "platform"),  # the platform paid it: kefu's refund row settled
    ]


@pytest.mark.parametrize(
    ("for_buyer", "end", "ruling"), [(True, "refunded", "uphold_buyer"), (False, "closed", "uphold_rejection")]
)
def test_platform_arbitration_after_a_refusal_and_the_platforms_ruling(
    client, connection, douyin, for_buyer, end, ruling
):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已签收，请走退货退款")
    assert send_writebacks() == ["sent"]
    arrive_by_push(client, douyin, case["aftersale_id"], 204)

    douyin.buyer_asks_arbitration(case["aftersale_id"])
    assert arrive_by_push(client, douyin, case["aftersale_id"], 210).state == "arbitration"
    douyin.platform_rules(case["aftersale_id"], for_buyer=for_buyer)
    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 211)

    assert ticket.state == end
    platform_steps = [e[1] for e in timeline(ticket) if e[0] == EventType.TRANSITION and e[2] == "platform"]
    assert platform_steps[:2] == ["escalate", ruling]
    assert WriteBack.objects.count() == 1  # only the staff's refusal went to Douyin


# -- staff decisions written back ---------------------------------------------------------------------------


def test_approving_a_return_in_kefu_agrees_it_on_douyin_with_the_shops_return_address(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 7
    write = douyin.writes[-1]
    assert write["type"] == 101
    assert write["items"] == [
        {
            "aftersale_id": case["aftersale_id"],
            "update_time": case["update_time"],
            "logistics": {"receiver_address_id": 70001},
        }
    ]
    arrive_by_push(client, douyin, case["aftersale_id"], 202)
    assert [e[1] for e in timeline(ticket_of(case["aftersale_id"])) if e[0] == EventType.TRANSITION] == ["approve"]


def test_approving_an_exchange_in_kefu_agrees_it_on_douyin(client, connection, douyin):
    case = douyin.create("exchange")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert douyin.writes[-1]["type"] == 301 and douyin.get(case["aftersale_id"])["aftersale_status"] == 7


def test_a_refund_only_approved_in_kefu_is_refunded_by_douyin_and_settled_in_kefu(client, connection, douyin):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert douyin.writes[-1]["type"] == 201
    ticket = arrive_by_push(client, douyin, case["aftersale_id"], 206)

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED and paid.gateway_reference == f"douyin:{case['aftersale_id']}"


def test_rejecting_a_refund_only_in_kefu_refuses_it_on_douyin_with_the_reason_code(client, connection, douyin):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已签收，请走退货退款")

    assert send_writebacks() == ["sent"]
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 27
    item = douyin.writes[-1]["items"][0]
    assert douyin.writes[-1]["type"] == 202
    assert (item["reject_reason_code"], item["reason"]) == (4, "商品已签收，请走退货退款")


def test_a_decision_without_a_confirmed_douyin_api_goes_back_to_the_staff_saying_so(client, connection, douyin):
    case = douyin.create("return_refund")  # refusing a return (102) is not a confirmed operate type
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="超出七天无理由期限")

    assert send_writebacks() == ["dead"]
    assert douyin.writes == [] and "afterSale.operate" not in douyin.calls
    ticket = ticket_of(case["aftersale_id"])
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert "back office" in escalation.reason and ticket.priority == Priority.URGENT


def test_a_rate_limited_write_back_is_retried_later_and_then_goes_through(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    douyin.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and row.attempts == 1 and "rate_limited" in row.last_error
    assert writeback_send(writeback_id=row.pk) == "skipped"  # not due yet

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 7
    assert douyin.errors == ["isp.api-call-limited"]


def test_a_system_error_or_a_stalled_gateway_is_retried(client, connection, douyin, settings):
    case = douyin.create("refund_only")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    row = WriteBack.objects.get()
    douyin.fail_next = 1
    assert writeback_send(writeback_id=row.pk) == "retry"
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.3
    douyin.stall, douyin.stall_next = 1.0, 1
    row.refresh_from_db()
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "retry"

    row.refresh_from_db()
    assert "transient" in row.last_error and row.attempts == 2
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 10
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 12


def test_a_status_changed_refusal_hands_the_ticket_back_with_the_platforms_message(client, connection, douyin):
    case = douyin.create("return_refund")
    ticket = arrive_by_push(client, douyin, case["aftersale_id"])
    douyin.buyer_cancels(case["aftersale_id"])  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    assert douyin.errors == ["isv.business-failed:20309541"]
    ticket = ticket_of(case["aftersale_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "售后单状态已变更" in escalation.reason
    assert WriteBack.objects.get().status == WriteBackStatus.DEAD
    # Reconciliation re-fetches the case: kefu follows the buyer's cancellation.
    connection_reconcile(connection_id=connection.pk)
    assert ticket_of(case["aftersale_id"]).state == "cancelled"


# -- the call itself ---------------------------------------------------------------------------------------


def test_both_documented_signing_methods_are_accepted_by_the_gateway(connection, douyin):
    case = douyin.create("refund_only")
    for method in ("md5", "hmac-sha256"):
        connector = DouyinConnector(connection)
        connector.sign_method = method
        assert connector.fetch(case["aftersale_id"]).case_id == case["aftersale_id"]
    assert douyin.errors == []


def test_param_json_is_compact_with_keys_sorted_at_every_depth():
    nested = {"b": 1, "a": {"d": [{"z": 1, "y": "中"}], "c": 2}}
    assert param_json(nested) == '{"a":{"c":2,"d":[{"y":"中","z":1}]},"b":1}'


def test_a_wrong_secret_is_refused_by_the_gateway_as_a_permanent_error(connection, douyin):
    case = douyin.create("refund_only")
    connection.app_secret = "not-the-secret"

    with pytest.raises(PlatformError) as refused:
        DouyinConnector(connection).fetch(case["aftersale_id"])

    assert refused.value.kind == ErrorKind.PERMANENT and douyin.errors == ["isv.signature-invalid"]


def test_the_exchange_shipment_goes_with_the_sellers_waybill_and_resend_says_it_has_no_api(connection, douyin):
    case = douyin.create("exchange", aftersale_status=8)  # goods back: the merchant is to ship the replacement
    connector = connector_for(connection)
    version = connector.fetch(case["aftersale_id"]).version

    connector.execute(
        Command(CommandName.SHIP_EXCHANGE, case["aftersale_id"], version=version, carrier="zhongtong", waybill="ZT9")
    )

    assert douyin.writes[-1]["type"] == 311
    assert douyin.writes[-1]["items"][0]["logistics"] == {"company_code": "zhongtong", "logistics_code": "ZT9"}
    assert douyin.get(case["aftersale_id"])["aftersale_status"] == 13
    for name in (CommandName.SHIP_RESEND, CommandName.UPLOAD_EVIDENCE):
        with pytest.raises(PlatformError) as refused:
            connector.execute(Command(name, case["aftersale_id"], version=version))
        assert refused.value.kind == ErrorKind.PERMANENT and refused.value.code == "unconfirmed_api"
    assert len(douyin.writes) == 1


def test_an_access_token_about_to_expire_is_refreshed_before_the_pull(connection, douyin):
    connection.refresh_token = douyin.refresh_token
    connection.token_expires_at = timezone.now() + timedelta(minutes=10)
    connection.save()
    case = douyin.create("refund_only")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 1, result
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert stored.access_token == douyin.access_token == "sim-douyin-access-refreshed-1"
    assert stored.refresh_token == "sim-douyin-refresh-2"
    assert stored.token_expires_at > timezone.now() + timedelta(days=6)
    assert PlatformCase.objects.filter(case_id=case["aftersale_id"]).exists()


def test_a_rate_limited_pull_keeps_its_cursor_and_the_next_pull_catches_up(connection, douyin):
    case = douyin.create("refund_only")
    douyin.rate_limit_next = 1

    failed = connection_pull(connection_id=connection.pk)
    assert "rate_limited" in failed.error and not PlatformCase.objects.exists()

    assert connection_pull(connection_id=connection.pk).cases == 1
    assert PlatformCase.objects.filter(case_id=case["aftersale_id"], ticket__isnull=False).exists()
    connection.refresh_from_db()
    assert (connection.pulls, connection.pull_errors) == (2, 1)


def test_a_push_whose_detail_is_rate_limited_is_processed_on_the_next_round(client, connection, douyin):
    case = douyin.create("refund_only")
    douyin.rate_limit_next = 1
    push(client, douyin.message(case["aftersale_id"]))

    assert inbox_process().retried == 1
    message = InboxMessage.objects.get()
    assert message.processed_at is None and "rate_limited" in message.error

    assert inbox_process(now=message.next_attempt_at + timedelta(seconds=1)).processed == 1
    assert ticket_of(case["aftersale_id"]).state == "requested"


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
