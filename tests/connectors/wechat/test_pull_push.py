"""The WeChat Channels shop connector against the local simulator (tests/simulators/wechat.py): cases arriving by
push and by pull.

The simulator and the shop connected to it: conftest.py.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from connectors.models import InboxMessage, PlatformCase
from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from connectors.services.sync import connection_pull, inbox_process
from orders.models import Order
from tests.connectors.conftest import ticket_of, timeline
from tests.connectors.wechat.conftest import arrive_by_push, push
from tests.simulators.wechat import PUSH_TOKEN
from tickets.models import EventType

pytestmark = pytest.mark.django_db


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
