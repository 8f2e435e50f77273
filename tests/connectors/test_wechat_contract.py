"""The WeChat Channels shop connector against the local simulator (tests/simulators/wechat.py): what a merchant sees.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which issues and checks access
tokens, keeps the cases' statuses and update times, answers ``deadline`` in seconds left, and answers in WeChat's
errcode/errmsg shapes; its pushes are signed (and in safe mode encrypted) independently of the connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.base import Command, CommandName, ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from connectors.services.writeback import writeback_send
from orders.models import Order
from tests.connectors.conftest import ticket_of, timeline
from tests.factories.orders import ShopFactory
from tests.factories.tickets import staff_actor
from tests.simulators.wechat import APP_ID, APP_SECRET, PUSH_AES_KEY, PUSH_TOKEN, WechatSimulator, wechat_running
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


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


# -- arriving ---------------------------------------------------------------------------------------------


def test_a_case_created_on_wechat_arrives_by_push_with_its_order_and_the_platform_deadline(client, connection, wechat):
    case = wechat.create("refund", deadline_hours=10)

    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", True)
    assert ticket.requested_amount == Decimal("200.07")  # 20007 fen on the platform
    assert ticket.order.number == case["order_id"] and ticket.order.shop == connection.shop
    assert Order.objects.filter(number=case["order_id"]).count() == 1
    # WeChat answers "36000 seconds left": kefu stores the moment.
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert ticket.due_at == deadline - timedelta(minutes=120)
    assert timeline(ticket)[0] == (EventType.CREATED, "", "platform")
    assert wechat.tokens_issued == 1  # the connection had no token: one was issued, then used for both calls


def test_a_push_in_safe_mode_is_decrypted_and_arrives(client, connection, wechat):
    case = wechat.create("return")

    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"], safe=True)

    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", False)


def test_a_push_with_a_bad_signature_is_refused_and_not_stored(client, connection, wechat):
    case = wechat.create("refund")

    assert push(client, wechat, case["after_sale_order_id"], token="not-the-token").status_code == 403
    assert push(client, wechat, case["after_sale_order_id"], safe=True, token="not-the-token").status_code == 403
    old = int(timezone.now().timestamp()) - 3600
    assert push(client, wechat, case["after_sale_order_id"], timestamp=old).status_code == 403  # a replay
    assert not InboxMessage.objects.exists()


def test_the_push_url_check_is_answered_with_echostr_only_when_signed_with_the_token(client, wechat):
    from tests.simulators.wechat import wechat_signature

    url = reverse("connectors:push", kwargs={"platform": "wechat"})
    good = {"timestamp": "1765000000", "nonce": "42", "echostr": "7311925012345"}
    good["signature"] = wechat_signature(PUSH_TOKEN, good["timestamp"], good["nonce"])

    answer = client.get(url, good)
    assert (answer.status_code, answer.content) == (200, b"7311925012345")
    assert client.get(url, {**good, "signature": "0" * 40}).status_code == 403


def test_cases_arrive_by_pull_over_several_pages_of_next_key(connection, wechat):
    ids = [wechat.create("refund")["after_sale_order_id"] for _ in range(55)]

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 55 and result.pages == 2
    assert wechat.calls.count("/channels/ec/aftersale/getaftersalelist") == 2  # 50 + 5, by next_key
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 55


def test_a_backfill_asks_for_windows_of_at_most_24_hours(connection, wechat):
    since = timezone.now() - timedelta(days=3)
    from connectors.services.sync import connection_backfill

    result = connection_backfill(connection_id=connection.pk, since=since, until=timezone.now())

    assert result.error == "" and result.pages >= 3  # 72 h in windows the platform accepts
    assert 47001 not in wechat.errors


def test_a_push_and_a_pull_of_the_same_change_make_one_ticket_and_one_timeline_entry(client, connection, wechat):
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    entries = timeline(ticket)

    connection_pull(connection_id=connection.pk)
    push(client, wechat, case["after_sale_order_id"], create_time=int(timezone.now().timestamp()) + 1)
    inbox_process()

    assert PlatformCase.objects.filter(case_id=case["after_sale_order_id"]).count() == 1
    assert timeline(ticket_of(case["after_sale_order_id"])) == entries


def test_a_duplicated_push_is_stored_once_and_an_older_snapshot_changes_nothing(client, connection, wechat):
    wechat.frozen = True
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    stamp = int(timezone.now().timestamp())
    push(client, wechat, case_id, create_time=stamp)
    push(client, wechat, case_id, create_time=stamp)  # WeChat's resend of the same event
    assert InboxMessage.objects.count() == 1
    inbox_process()
    connector = connector_for(connection)
    older = connector.fetch(case_id)
    wechat.buyer_cancels(case_id)  # in the same second as the creation: ordered by progress
    newer = connector.fetch(case_id)

    assert case_ingest(connection=connection, snapshot=newer).outcome == "updated"
    entries = timeline(ticket_of(case_id))
    assert case_ingest(connection=connection, snapshot=older).outcome == "stale"

    assert ticket_of(case_id).state == "cancelled"
    assert timeline(ticket_of(case_id)) == entries


def test_an_unknown_status_is_kept_raw_and_flagged_without_a_ticket(connection, wechat):
    case = wechat.create("refund", status="PLATFORM_REFUND_FAIL")

    result = case_ingest(connection=connection, snapshot=connector_for(connection).fetch(case["after_sale_order_id"]))

    stored = PlatformCase.objects.get(case_id=case["after_sale_order_id"])
    assert result.outcome == "unknown" and stored.unknown and stored.raw_status == "PLATFORM_REFUND_FAIL"
    assert stored.ticket is None


# -- the platform acting on its own ------------------------------------------------------------------------


def test_a_platform_timeout_auto_agrees_and_kefu_records_it_as_the_platforms_transition(client, connection, wechat):
    case = wechat.create("return", deadline_hours=48)
    arrive_by_push(client, wechat, case["after_sale_order_id"])

    assert wechat.advance(timedelta(hours=49)) == [case["after_sale_order_id"]]
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    assert ticket.state == "awaiting_return"
    approvals = [e for e in timeline(ticket) if e[0] == EventType.TRANSITION]
    assert approvals == [(EventType.TRANSITION, "approve", "platform")]
    assert ticket.platform_due_at is None  # no deadline left for the merchant
    assert not WriteBack.objects.exists()


def test_a_return_the_merchant_does_not_confirm_in_time_is_refunded_by_the_platform(client, connection, wechat):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    send_writebacks()
    wechat.buyer_returns(case_id)
    ticket = arrive_by_push(client, wechat, case_id)
    assert ticket.state == "return_in_transit" and ticket.platform_due_at is not None

    wechat.advance(timedelta(days=11))
    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "refunded"
    ran = [e[1:] for e in timeline(ticket) if e[0] == EventType.TRANSITION]
    assert ran[-2:] == [("auto_refund", "platform"), ("complete_refund", "platform")]


def test_a_lost_push_is_repaired_by_reconciliation(client, connection, wechat):
    case = wechat.create("return")
    arrive_by_push(client, wechat, case["after_sale_order_id"])
    wechat.buyer_cancels(case["after_sale_order_id"])  # its push never arrives

    report = connection_reconcile(connection_id=connection.pk)

    assert (report.checked, report.repaired, report.errors) == (1, 1, 0)
    ticket = ticket_of(case["after_sale_order_id"])
    assert ticket.state == "cancelled" and timeline(ticket)[-1][1:] == ("cancel", "platform")
    assert connection_reconcile(connection_id=connection.pk).repaired == 0


def test_a_refused_case_taken_to_the_platform_is_in_arbitration_in_kefu(client, connection, wechat):
    wechat.frozen = True  # the refusal and the complaint in the same second: still two changes
    case = wechat.create("refund")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货")
    assert send_writebacks() == ["sent"]

    wechat.buyer_complains(case_id)
    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "arbitration"
    assert PlatformCase.objects.get(case_id=case_id).raw_status == "MERCHANT_REJECT_REFUND/complaint"


# -- staff decisions written back ---------------------------------------------------------------------------


def test_approving_a_return_in_kefu_accepts_it_on_wechat_with_the_shops_return_address(client, connection, wechat):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert wechat.get(case_id)["status"] == "USER_WAIT_RETURN"
    assert wechat.writes[-1] == ("acceptapply", {"after_sale_order_id": case_id, "address_id": "20001"})
    arrive_by_push(client, wechat, case_id)  # WeChat's report of that change runs nothing a second time
    assert [e[1] for e in timeline(ticket_of(case_id)) if e[0] == EventType.TRANSITION] == ["approve"]


def test_a_return_received_and_passed_in_kefu_is_refunded_on_wechat(client, connection, wechat):
    case = wechat.create("return")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert send_writebacks() == ["sent"]
    wechat.buyer_returns(case_id)
    ticket = arrive_by_push(client, wechat, case_id)
    warehouse = staff_actor("warehouse")

    ticket = ticket_act(ticket=ticket, actor=warehouse, action="receive")
    assert wechat.get(case_id)["status"] == "MERCHANT_WAIT_RECEIPT"  # receipt alone is kefu's step
    ticket = ticket_act(ticket=ticket, actor=warehouse, action="pass_inspection")
    assert send_writebacks() == ["skipped", "sent", "sent"]  # (agree return: sent before), receipt (kefu-side), refund

    assert wechat.get(case_id)["status"] == "MERCHANT_RETURN_SUCCESS"
    assert [w[0] for w in wechat.writes] == ["acceptapply", "acceptapply"]
    ticket = arrive_by_push(client, wechat, case_id)
    assert ticket.state == "refunded"


def test_a_refund_only_approved_in_kefu_is_refunded_by_wechat_and_settled_in_kefu(client, connection, wechat):
    case = wechat.create("refund")
    case_id = case["after_sale_order_id"]
    ticket = arrive_by_push(client, wechat, case_id)

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    assert wechat.writes[-1] == ("acceptapply", {"after_sale_order_id": case_id})
    ticket = arrive_by_push(client, wechat, case_id)

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED and paid.gateway_reference == f"wechat:{case_id}"


def test_rejecting_in_kefu_rejects_on_wechat_with_the_reason(client, connection, wechat):
    case = wechat.create("refund")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货，请先拒收")

    assert send_writebacks() == ["sent"]
    assert wechat.get(case["after_sale_order_id"])["status"] == "MERCHANT_REJECT_REFUND"
    assert wechat.writes[-1][1]["reject_reason"] == "已发货，请先拒收"
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    assert ticket.state == "rejected"
    assert [e[1] for e in timeline(ticket) if e[0] == EventType.TRANSITION] == ["reject"]


def test_rate_limited_and_busy_answers_are_retried_later_and_then_go_through(client, connection, wechat):
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    wechat.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and "rate_limited: 45009" in row.last_error
    assert writeback_send(writeback_id=row.pk) == "skipped"  # not due yet
    wechat.busy_next = 1
    row.refresh_from_db()
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "retry"
    row.refresh_from_db()
    assert "transient: -1" in row.last_error

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert wechat.get(case["after_sale_order_id"])["status"] == "USER_WAIT_RETURN"
    assert wechat.errors == [45009, -1]


def test_a_refusal_by_wechat_returns_the_ticket_to_the_staff_with_the_platforms_message(client, connection, wechat):
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])
    wechat.buyer_cancels(case["after_sale_order_id"])  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    ticket = ticket_of(case["after_sale_order_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "当前售后单状态不允许同意" in escalation.reason
    assert WriteBack.objects.get().status == WriteBackStatus.DEAD


def test_a_return_address_unknown_to_wechat_is_a_refusal_the_staff_see(client, connection, wechat):
    connection.return_address_id = "99999"
    connection.save()
    case = wechat.create("return")
    ticket = arrive_by_push(client, wechat, case["after_sale_order_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]
    assert "退货地址不存在" in WriteBack.objects.get().last_error


def test_commands_wechat_has_no_api_for_are_permanent_refusals_that_say_so(connection, wechat):
    connector = connector_for(connection)

    with pytest.raises(PlatformError) as resend:
        connector.execute(Command(CommandName.SHIP_RESEND, case_id="1"))
    with pytest.raises(PlatformError) as partial:
        connector.execute(Command(CommandName.AGREE_REFUND, case_id="1", amount_fen=100, extra={"refund_fen": 200}))

    assert resend.value.kind == ErrorKind.PERMANENT and "补寄" in resend.value.message
    assert partial.value.kind == ErrorKind.PERMANENT and "merchantupdateaftersale" in partial.value.message
    assert wechat.calls == []  # refused before calling the platform


def test_evidence_is_uploaded_to_the_case(connection, wechat):
    case = wechat.create("refund")

    connector_for(connection).execute(
        Command(CommandName.UPLOAD_EVIDENCE, case_id=case["after_sale_order_id"], evidence=("media-1",), reason="签收")
    )

    assert wechat.writes[-1][0] == "uploadrefundcertificate"
    assert wechat.get(case["after_sale_order_id"])["merchant_upload_info"]["refund_certificates"] == ["media-1"]


# -- the access token ----------------------------------------------------------------------------------------


def test_an_expired_access_token_is_replaced_once_and_the_call_repeated(connection, wechat):
    case = wechat.create("refund")
    connector = connector_for(connection)
    connector.fetch(case["after_sale_order_id"])
    first = ShopConnection.objects.get(pk=connection.pk).access_token
    wechat.expire_tokens()  # WeChat says 42001 although kefu thinks the token still has time

    assert connector.fetch(case["after_sale_order_id"]).case_id == case["after_sale_order_id"]

    stored = ShopConnection.objects.get(pk=connection.pk)
    assert stored.access_token != first and wechat.tokens_issued == 2 and wechat.errors == [42001]
    assert stored.token_expires_at > timezone.now() + timedelta(hours=1)


def test_an_access_token_about_to_expire_is_renewed_before_the_pull(connection, wechat):
    connection.access_token = wechat.token({"grant_type": "client_credential", "appid": APP_ID, "secret": APP_SECRET})[
        "access_token"
    ]
    connection.token_expires_at = timezone.now() + timedelta(minutes=10)
    connection.save()
    case = wechat.create("refund")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 1, result
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert wechat.tokens_issued == 2 and stored.access_token != connection.access_token
    assert stored.token_expires_at > timezone.now() + timedelta(hours=1)
    assert PlatformCase.objects.filter(case_id=case["after_sale_order_id"]).exists()


def test_a_wrong_app_secret_is_a_permanent_error_of_the_pull(connection, wechat):
    connection.app_secret = "wrong"
    connection.save()

    result = connection_pull(connection_id=connection.pk)

    assert result.error.startswith("permanent: 40125")


def test_a_platform_that_does_not_answer_in_time_is_tried_again_later(client, connection, wechat, settings):
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.5
    case = wechat.create("refund")
    wechat.stall, wechat.stall_next = 3.0, 1
    assert push(client, wechat, case["after_sale_order_id"]).status_code == 200

    assert inbox_process().retried == 1
    message = InboxMessage.objects.get()
    assert message.processed_at is None and message.error.startswith("transient: network")

    assert inbox_process(now=message.next_attempt_at + timedelta(seconds=1)).processed == 1
    assert ticket_of(case["after_sale_order_id"]).state == "requested"
