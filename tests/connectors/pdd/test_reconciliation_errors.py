"""The Pinduoduo connector against the local simulator (tests/simulators/pdd.py): the platform acting on its
own, reconciliation, and errors (unreadable cases, rate limits, signatures, tokens, timeouts).

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.commands import ErrorKind, PlatformError
from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack
from connectors.platforms import connector_for
from connectors.platforms.pdd import PddConnector
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from tests.connectors.pdd.conftest import arrive_by_push, push, ticket_of, transitions

pytestmark = pytest.mark.django_db


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


def test_a_rate_limited_pull_keeps_its_cursor_and_the_next_pull_catches_up(connection, pdd):
    case = pdd.create("refund_only")
    pdd.rate_limit_next = 1

    failed = connection_pull(connection_id=connection.pk)
    assert failed.error.startswith("rate_limited: 70031")
    assert connection_pull(connection_id=connection.pk).cases == 1
    assert PlatformCase.objects.filter(case_id=pdd.case_id(str(case["id"])), ticket__isnull=False).exists()


def test_a_call_signed_with_another_secret_is_refused_by_the_platform(connection, pdd):
    case = pdd.create("refund_only")
    connection.app_secret = "not-the-secret"

    with pytest.raises(PlatformError) as refused:
        PddConnector(connection).fetch(pdd.case_id(str(case["id"])))

    assert refused.value.kind == ErrorKind.PERMANENT and pdd.errors == ["20004"]


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
