"""The WeChat Channels shop connector against the local simulator (tests/simulators/wechat.py): the platform acting on
its own, reconciliation, and errors (unreadable cases, rate limits, signatures, tokens, timeouts).

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack
from connectors.platforms import connector_for
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.wechat.conftest import arrive_by_push, push, send_writebacks
from tests.factories.tickets import staff_actor
from tests.simulators.wechat import APP_ID, APP_SECRET
from tickets.models import EventType
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


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
