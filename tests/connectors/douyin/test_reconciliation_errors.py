"""The Douyin shop connector against the local simulator (tests/simulators/douyin.py): the platform acting on its
own, reconciliation, and errors (unreadable cases, rate limits, signatures, tokens, timeouts).

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.commands import ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack
from connectors.platforms.douyin import DouyinConnector, param_json
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.douyin.conftest import arrive_by_push, push, send_writebacks
from tests.factories.tickets import staff_actor
from tickets.models import EventType
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


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
