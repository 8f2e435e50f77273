"""The Taobao/Tmall connector against the local TOP simulator (tests/simulators/taobao.py): what a merchant sees.

Every platform call goes over HTTP through kefu.core.outbound to the simulator, which verifies TOP's signature
independently, keeps the cases' states and versions, and answers in TOP's shapes.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.utils import timezone

from connectors.models import InboxMessage, PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.platforms.taobao import TaobaoConnector
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile, inbox_process
from connectors.services.writeback import writeback_send
from orders.models import Order
from tests.connectors.conftest import push, ticket_of, timeline
from tests.factories.tickets import staff_actor
from tests.simulators.taobao import TaobaoSimulator
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import refund_execute, ticket_act
from tickets.services.deadlines import sweep_due

pytestmark = pytest.mark.django_db


def arrive_by_push(client, taobao: TaobaoSimulator, refund_id: str, topic: str = "RefundCreated"):
    response = push(client, taobao.message(refund_id, topic))
    assert response.status_code == 200, response.content
    inbox_process()
    return ticket_of(refund_id)


def send_writebacks() -> list[str]:
    return [writeback_send(writeback_id=pk) for pk in WriteBack.objects.order_by("pk").values_list("pk", flat=True)]


# -- arriving ---------------------------------------------------------------------------------------------


def test_a_case_created_on_taobao_arrives_by_push_with_its_order_and_the_platform_deadline(client, connection, taobao):
    refund = taobao.create("refund_only", deadline_hours=10)

    ticket = arrive_by_push(client, taobao, refund["refund_id"])

    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", True)
    assert ticket.requested_amount == Decimal("200.07")  # "200.07" yuan on the platform
    assert ticket.order.number == refund["tid"] and ticket.order.shop == connection.shop
    assert Order.objects.filter(number=refund["tid"]).count() == 1
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    # kefu's own 48 h would be after the platform acts: the step is due 120 minutes before the platform's deadline.
    assert ticket.due_at == deadline - timedelta(minutes=120)
    assert ticket.warn_at is not None and ticket.warn_at <= ticket.due_at
    assert timeline(ticket)[0] == (EventType.CREATED, "", "platform")


def test_kefu_keeps_its_own_deadline_when_the_platform_gives_more_time(client, connection, taobao):
    refund = taobao.create("return_refund", deadline_hours=100)

    ticket = arrive_by_push(client, taobao, refund["refund_id"])

    assert ticket.due_at is not None and ticket.platform_due_at is not None
    assert abs(ticket.due_at - (ticket.created_at + timedelta(hours=48))) < timedelta(seconds=5)


def test_a_case_arrives_by_pull_over_several_pages(connection, taobao):
    ids = [taobao.create("refund_only")["refund_id"] for _ in range(105)]

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 105 and result.pages == 3
    assert taobao.calls.count("taobao.refunds.receive.get") == 2  # 100 + 5, by has_next
    assert taobao.calls.count("tmall.exchange.receive.get") == 1  # then the window's exchanges (none)
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 105
    connection.refresh_from_db()
    assert connection.last_pull_at is not None and connection.pull_errors == 0 and connection.pulls == 1


def test_a_push_and_a_pull_of_the_same_change_make_one_ticket_and_one_timeline_entry(client, connection, taobao):
    refund = taobao.create("return_refund")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])
    entries = timeline(ticket)

    connection_pull(connection_id=connection.pk)
    push(client, taobao.message(refund["refund_id"], "RefundCreated", message_id="another-copy"))
    inbox_process()

    assert PlatformCase.objects.filter(case_id=refund["refund_id"]).count() == 1
    assert timeline(ticket_of(refund["refund_id"])) == entries


def test_a_duplicated_push_is_stored_once_and_an_older_snapshot_changes_nothing(client, connection, taobao):
    refund = taobao.create("return_refund")
    message = taobao.message(refund["refund_id"], "RefundCreated")
    push(client, message)
    push(client, message)
    assert InboxMessage.objects.filter(message_id=message["id"]).count() == 1
    inbox_process()
    connector = connector_for(connection)
    older = connector.fetch(refund["refund_id"])
    taobao.buyer_cancels(refund["refund_id"])
    newer = connector.fetch(refund["refund_id"])

    assert case_ingest(connection=connection, snapshot=newer).outcome == "updated"
    ticket = ticket_of(refund["refund_id"])
    entries = timeline(ticket)
    # The late push's detail (fetched before the cancellation) arrives last: it is older, nothing changes.
    assert case_ingest(connection=connection, snapshot=older).outcome == "stale"

    assert ticket_of(refund["refund_id"]).state == "cancelled"
    assert timeline(ticket_of(refund["refund_id"])) == entries


def test_a_push_with_a_bad_signature_is_refused_and_not_stored(client, connection, taobao):
    refund = taobao.create("refund_only")

    response = push(client, taobao.message(refund["refund_id"], "RefundCreated"), secret="not-the-secret")

    assert response.status_code == 403
    assert not InboxMessage.objects.exists()


def test_an_unknown_status_is_kept_raw_and_flagged_without_a_ticket(connection, taobao):
    refund = taobao.create("refund_only", status="WAIT_SOMETHING_NEW")

    result = case_ingest(connection=connection, snapshot=connector_for(connection).fetch(refund["refund_id"]))

    case = PlatformCase.objects.get(case_id=refund["refund_id"])
    assert result.outcome == "unknown" and case.unknown and case.raw_status == "WAIT_SOMETHING_NEW"
    assert case.ticket is None


# -- the platform acting on its own ------------------------------------------------------------------------


def test_a_platform_timeout_auto_agrees_and_kefu_records_it_as_the_platforms_transition(client, connection, taobao):
    refund = taobao.create("return_refund", deadline_hours=48)
    arrive_by_push(client, taobao, refund["refund_id"])

    assert taobao.advance(timedelta(hours=49)) == [refund["refund_id"]]
    ticket = arrive_by_push(client, taobao, refund["refund_id"], "RefundSellerAgreeAgreement")

    assert ticket.state == "awaiting_return"
    approval = [e for e in timeline(ticket) if e[0] == EventType.TRANSITION]
    assert approval == [(EventType.TRANSITION, "approve", "platform")]
    assert ticket.platform_due_at is None  # the merchant has nothing to answer now
    assert ticket.due_at is None  # the buyer's turn: Taobao times it, kefu neither expires nor escalates it
    assert not WriteBack.objects.exists()  # the platform's own decision is not written back to it


def test_a_lost_push_is_repaired_by_reconciliation(client, connection, taobao):
    refund = taobao.create("return_refund")
    arrive_by_push(client, taobao, refund["refund_id"])
    taobao.buyer_cancels(refund["refund_id"])  # the push about it never arrives

    report = connection_reconcile(connection_id=connection.pk)

    assert (report.checked, report.repaired, report.errors) == (1, 1, 0)
    ticket = ticket_of(refund["refund_id"])
    assert ticket.state == "cancelled"
    assert timeline(ticket)[-1][1:] == ("cancel", "platform")
    assert connection_reconcile(connection_id=connection.pk).repaired == 0  # in step now


# -- staff decisions written back ---------------------------------------------------------------------------


def test_approving_a_return_in_kefu_agrees_it_on_taobao_with_the_shops_return_address(client, connection, taobao):
    refund = taobao.create("return_refund")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["sent"]
    assert taobao.get(refund["refund_id"])["status"] == "WAIT_BUYER_RETURN_GOODS"
    method, params = taobao.writes[-1]
    assert method == "taobao.rp.returngoods.agree" and params["seller_address_id"] == "5001"
    assert params["refund_version"] == str(refund["refund_version"])
    # The platform's own report of that change afterwards does not run the approval a second time.
    arrive_by_push(client, taobao, refund["refund_id"], "RefundSellerAgreeAgreement")
    assert [e[1] for e in timeline(ticket_of(refund["refund_id"])) if e[0] == EventType.TRANSITION] == ["approve"]


def test_a_refund_only_approved_in_kefu_is_refunded_by_taobao_and_settled_in_kefu(client, connection, taobao):
    refund = taobao.create("refund_only")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])

    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    assert ticket.state == "refund_pending"
    assert send_writebacks() == ["sent"]
    method, params = taobao.writes[-1]
    assert method == "taobao.rp.refunds.agree"
    assert params["refund_infos"] == f"{refund['refund_id']}|20007|{refund['refund_version']}|onsale"
    ticket = arrive_by_push(client, taobao, refund["refund_id"], "RefundSuccess")

    assert ticket.state == "refunded"
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert paid.status == RefundStatus.SUCCEEDED and paid.reference == f"taobao:{refund['refund_id']}"


def test_rejecting_in_kefu_refuses_on_taobao_with_the_reason(client, connection, taobao):
    refund = taobao.create("refund_only")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="已发货，请先拒收")

    assert send_writebacks() == ["sent"]
    assert taobao.get(refund["refund_id"])["status"] == "SELLER_REFUSE_BUYER"
    assert taobao.writes[-1][1]["refuse_message"] == "已发货，请先拒收"


def test_a_rate_limited_write_back_is_retried_later_and_then_goes_through(client, connection, taobao):
    refund = taobao.create("return_refund")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    taobao.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and row.attempts == 1 and "rate_limited" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert writeback_send(writeback_id=row.pk) == "skipped"  # not due yet

    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"
    assert taobao.get(refund["refund_id"])["status"] == "WAIT_BUYER_RETURN_GOODS"
    assert taobao.errors == ["7"]


def test_a_refusal_by_taobao_returns_the_ticket_to_the_staff_with_the_platforms_message(client, connection, taobao):
    refund = taobao.create("return_refund")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])
    taobao.buyer_cancels(refund["refund_id"])  # before kefu heard of it
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")

    assert send_writebacks() == ["dead"]

    ticket = ticket_of(refund["refund_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.filter(event_type=EventType.ESCALATION).get()
    assert escalation.actor_kind == "platform" and "退款" in escalation.reason
    assert WriteBack.objects.get().status == WriteBackStatus.DEAD


# -- connections -------------------------------------------------------------------------------------------


def test_credentials_are_stored_encrypted(connection, taobao):
    with db.cursor() as cursor:
        cursor.execute("SELECT app_secret, access_token FROM connectors_shopconnection WHERE id = %s", [connection.pk])
        secret, token = cursor.fetchone()

    assert secret.startswith("fernet:") and taobao.secret not in secret
    assert token.startswith("fernet:") and taobao.session not in token
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert (stored.app_secret, stored.access_token) == (taobao.secret, taobao.session)


def test_both_documented_signing_methods_are_accepted_by_the_platform(connection, taobao):
    refund = taobao.create("refund_only")
    for method in ("md5", "hmac"):
        connector = TaobaoConnector(connection)
        connector.sign_method = method
        assert connector.fetch(refund["refund_id"]).case_id == refund["refund_id"]
    assert taobao.errors == []


def test_kefus_payment_gateway_never_pays_a_refund_the_platform_pays(client, connection, taobao):
    refund = taobao.create("refund_only")
    ticket = arrive_by_push(client, taobao, refund["refund_id"])
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    pending = Refund.objects.get(ticket_id=ticket.pk)

    submitted = refund_execute(refund_id=pending.pk)
    # Submitted to its payer, Taobao (agreeing there is the payment), and no gateway of kefu's was asked.
    assert (submitted.status, submitted.payer) == (RefundStatus.SUBMITTED, "taobao")
    assert ticket_of(refund["refund_id"]).state == "refund_pending"  # until Taobao says it refunded


def test_kefus_sweep_escalates_a_platform_case_instead_of_deciding_for_the_platform(client, connection, taobao):
    refund = taobao.create("refund_only", deadline_hours=3)
    ticket = arrive_by_push(client, taobao, refund["refund_id"])
    assert ticket.due_at is not None

    result = sweep_due(now=ticket.due_at + timedelta(minutes=1))

    ticket = ticket_of(refund["refund_id"])
    assert (result.transitioned, result.escalated) == (0, 1)
    assert ticket.state == "requested" and ticket.sla_breached  # Taobao decides at its deadline, kefu warned first
    assert not WriteBack.objects.exists()


def test_an_access_token_about_to_expire_is_refreshed_before_the_pull(connection, taobao):
    connection.refresh_token = taobao.refresh_token
    connection.token_expires_at = timezone.now() + timedelta(minutes=10)
    connection.save()
    refund = taobao.create("refund_only")

    result = connection_pull(connection_id=connection.pk)

    assert result.error == "" and result.cases == 1, result
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert stored.access_token == taobao.session == "6100sim-refreshed-1"
    assert stored.refresh_token == "sim-refresh-token-2"
    assert stored.token_expires_at > timezone.now() + timedelta(hours=23)
    assert PlatformCase.objects.filter(case_id=refund["refund_id"]).exists()
