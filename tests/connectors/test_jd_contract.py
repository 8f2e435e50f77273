"""The JD (JOS ASC) connector against the local simulator (tests/simulators/jd.py): what a merchant sees.

JD is pull-only in kefu (its messages are not received over HTTP), and its audit (agree) APIs are not known:
these tests pin what kefu does with what is known, and that the rest is refused with a message the staff read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.platforms.jd import sign
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, connection_reconcile
from connectors.services.writeback import writeback_send
from tests.connectors.conftest import ticket_of, timeline
from tests.factories.orders import ShopFactory
from tests.factories.tickets import staff_actor
from tests.simulators.jd import ACCESS_TOKEN, APP_KEY, APP_SECRET, JdSimulator, jd_running, jos_sign
from tickets.models import EventType, Priority
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


@pytest.fixture
def jd() -> Iterator[JdSimulator]:
    with jd_running() as simulator:
        yield simulator


@pytest.fixture
def connection(db: Any, jd: JdSimulator) -> ShopConnection:
    return ShopConnection.objects.create(
        shop=ShopFactory(code="jd-pop"),
        platform="jd",
        external_id=jd.vender_id,
        base_url=jd.url,
        app_key=APP_KEY,
        app_secret=APP_SECRET,
        access_token=ACCESS_TOKEN,
    )


def pull(connection: ShopConnection) -> Any:
    result = connection_pull(connection_id=connection.pk)
    assert result.error == "", result.error
    return result


def send_writebacks() -> list[str]:
    return [writeback_send(writeback_id=pk) for pk in WriteBack.objects.order_by("pk").values_list("pk", flat=True)]


def test_a_service_order_created_on_jd_arrives_by_pull_with_its_order(connection, jd):
    service = jd.create("return")

    pull(connection)

    ticket = ticket_of(str(service["serviceId"]))
    assert (ticket.kind, ticket.state, ticket.refund_only) == ("return", "requested", False)
    assert ticket.requested_amount == Decimal("89.90")
    assert ticket.order.number == str(service["orderId"]) and ticket.order.shop == connection.shop
    assert ticket.platform_due_at is None  # JD's deadline field is unknown: kefu's own clock runs
    assert timeline(ticket)[0] == (EventType.CREATED, "", "platform")


def test_an_exchange_arrives_as_an_exchange_ticket(connection, jd):
    service = jd.create("exchange")

    pull(connection)

    assert ticket_of(str(service["serviceId"])).kind == "exchange"


def test_cases_arrive_over_several_pages_and_a_second_pull_changes_nothing(connection, jd):
    ids = [str(jd.create("return")["serviceId"]) for _ in range(55)]

    result = pull(connection)
    entries = timeline(ticket_of(ids[0]))
    again = connection_pull(connection_id=connection.pk, until=timezone.now() + timedelta(seconds=1))

    assert result.cases == 55 and result.pages == 2
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 55
    assert set(again.outcomes) <= {"stale"}  # the overlap reads them again: nothing changes
    assert timeline(ticket_of(ids[0])) == entries


def test_an_older_snapshot_changes_nothing(connection, jd):
    service = jd.create("return")
    pull(connection)
    connector = connector_for(connection)
    older = connector.fetch(str(service["serviceId"]))
    jd.buyer_cancels(service["serviceId"])
    newer = connector.fetch(str(service["serviceId"]))

    assert case_ingest(connection=connection, snapshot=newer).outcome == "updated"
    entries = timeline(ticket_of(str(service["serviceId"])))
    assert case_ingest(connection=connection, snapshot=older).outcome == "stale"
    assert ticket_of(str(service["serviceId"])).state == "cancelled"
    assert timeline(ticket_of(str(service["serviceId"]))) == entries


def test_unknown_statuses_and_kinds_are_kept_raw_and_flagged(connection, jd):
    done = jd.create("return", serviceStatus=50)  # 完成: whether JD refunded is not in the status
    repair = jd.create("return", customerExpect=30)  # 维修

    pull(connection)

    for service, raw in ((done, "50"), (repair, "10")):
        case = PlatformCase.objects.get(case_id=str(service["serviceId"]))
        assert case.unknown and case.raw_status == raw and case.ticket is None


def test_jd_agreeing_on_its_own_is_recorded_as_the_platforms_transition(connection, jd):
    service = jd.create("return", review_hours=48)
    pull(connection)

    assert jd.advance(timedelta(hours=49)) == [str(service["serviceId"])]
    connection_reconcile(connection_id=connection.pk)

    ticket = ticket_of(str(service["serviceId"]))
    assert ticket.state == "awaiting_return"
    assert [e[1:] for e in timeline(ticket) if e[0] == EventType.TRANSITION] == [("approve", "platform")]
    assert not WriteBack.objects.exists()


def test_a_change_missed_by_the_pull_is_repaired_by_reconciliation(connection, jd):
    service = jd.create("return")
    pull(connection)
    jd.merchant_approves_in_back_office(service["serviceId"])
    jd.buyer_returns(service["serviceId"])

    report = connection_reconcile(connection_id=connection.pk)

    ticket = ticket_of(str(service["serviceId"]))
    assert (report.checked, report.repaired) == (1, 1)
    assert ticket.state == "return_in_transit"
    assert [e[1] for e in timeline(ticket) if e[0] == EventType.TRANSITION] == ["approve", "ship_back"]


def test_receiving_the_goods_in_kefu_registers_the_receipt_on_jd(connection, jd):
    service = jd.create("return")
    pull(connection)
    jd.merchant_approves_in_back_office(service["serviceId"])
    jd.buyer_returns(service["serviceId"])
    connection_reconcile(connection_id=connection.pk)
    ticket = ticket_of(str(service["serviceId"]))

    ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="receive")

    assert send_writebacks() == ["sent"]
    method, body = jd.writes[-1]
    assert method == "jingdong.asc.receive.register"
    assert (body["serviceId"], body["orderId"], body["buId"]) == (
        service["serviceId"],
        service["orderId"],
        jd.vender_id,
    )
    assert jd.get(service["serviceId"])["serviceStatus"] == 34


def test_rejecting_in_kefu_closes_the_service_order_on_jd_with_the_reason(connection, jd):
    service = jd.create("return")
    pull(connection)
    ticket = ticket_of(str(service["serviceId"]))

    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已使用，不支持退货")

    assert send_writebacks() == ["sent"]
    assert jd.get(service["serviceId"])["serviceStatus"] == 20
    assert jd.writes[-1][1]["approveNotes"] == "商品已使用，不支持退货"
    pull(connection)
    assert [e[1] for e in timeline(ticket_of(str(service["serviceId"]))) if e[0] == EventType.TRANSITION] == ["reject"]


def test_approving_in_kefu_is_handed_back_to_the_staff_because_jds_audit_api_is_unknown(connection, jd):
    service = jd.create("return")
    pull(connection)

    ticket_act(
        ticket=ticket_of(str(service["serviceId"])), actor=staff_actor("operations"), action="approve", reason=""
    )

    assert send_writebacks() == ["dead"]
    ticket = ticket_of(str(service["serviceId"]))
    assert ticket.priority == Priority.URGENT
    assert "JD's back office" in ticket.events.filter(event_type=EventType.ESCALATION).get().reason
    assert jd.writes == []


def test_a_rate_limited_call_is_retried_later(connection, jd):
    service = jd.create("return")
    pull(connection)
    ticket_act(
        ticket=ticket_of(str(service["serviceId"])), actor=staff_actor("operations"), action="reject", reason="不支持"
    )
    jd.rate_limit_next = 1

    assert send_writebacks() == ["retry"]
    row = WriteBack.objects.get()
    assert row.status == WriteBackStatus.PENDING and "rate_limited: 67" in row.last_error
    assert writeback_send(writeback_id=row.pk, now=row.next_attempt_at + timedelta(seconds=1)) == "sent"


def test_a_refusal_by_jd_returns_the_ticket_to_the_staff_with_its_message(connection, jd):
    service = jd.create("return")
    pull(connection)
    jd.buyer_cancels(service["serviceId"])
    ticket_act(
        ticket=ticket_of(str(service["serviceId"])), actor=staff_actor("operations"), action="reject", reason="不支持"
    )

    assert send_writebacks() == ["dead"]
    escalation = ticket_of(str(service["serviceId"])).events.filter(event_type=EventType.ESCALATION).get()
    assert "服务单已完结" in escalation.reason


def test_a_wrong_secret_is_a_permanent_pull_error_and_pushes_are_refused(client, connection, jd):
    connection.app_secret = "wrong"
    connection.save()

    result = connection_pull(connection_id=connection.pk)
    response = client.post(reverse("connectors:push", kwargs={"platform": "jd"}), b"{}", "application/json")

    assert result.error.startswith("permanent: 12")
    assert response.status_code == 404  # JD is pulled, never pushed


def test_the_signature_is_md5_of_the_sorted_parameters_between_the_secret():
    params = {"method": "m", "app_key": "k", "v": "2.0", "360buy_param_json": "{}"}

    assert (
        sign(params, "s")
        == jos_sign(params, "s")
        == hashlib.md5(b"s360buy_param_json{}app_keykmethodmv2.0s").hexdigest().upper()  # noqa: S324 - JOS
    )
