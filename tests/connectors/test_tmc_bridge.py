"""The TMC bridge (connectors/bridges/tmc.py) against the local TMC (tests/simulators/tmc.py), a WebSocket server.

The bridge runs in the test's thread until a condition holds; the simulator serves in its own threads. What a
merchant would notice: a case pushed by TMC becomes a ticket; a message TMC sends twice is one timeline entry;
a dropped connection is reopened and nothing is lost; wrong credentials are refused and nothing is stored.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command

from connectors.bridges import tmc_frames
from connectors.bridges.guarded import open_websocket
from connectors.bridges.tmc import TmcBridge
from connectors.models import InboxMessage, ShopConnection
from connectors.services.sync import inbox_process
from kefu.core.outbound import BlockedTarget
from tests.connectors.bridging import stop_when, within
from tests.connectors.conftest import ticket_of
from tests.simulators.taobao import TaobaoSimulator
from tests.simulators.tmc import TmcSimulator, tmc_running
from tickets.models import EventType, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def tmc() -> Iterator[TmcSimulator]:
    with tmc_running(redeliver_after=0.3) as simulator:
        yield simulator


def bridge_for(connection: ShopConnection, tmc: TmcSimulator) -> TmcBridge:
    return TmcBridge([connection], url=tmc.url, pull_interval=0.2, backoff_base=0.05, backoff_max=0.2, open_timeout=5)


def test_a_refund_pushed_by_tmc_is_stored_confirmed_and_becomes_a_ticket(connection, taobao: TaobaoSimulator, tmc):
    refund = taobao.create("refund_only", deadline_hours=10)
    message_id = tmc.publish_refund(taobao, refund["refund_id"])
    bridge = bridge_for(connection, tmc)

    bridge.run(within(10, lambda: tmc.confirmed == [message_id]))

    assert tmc.confirmed == [message_id] and tmc.queue == {}
    stored = InboxMessage.objects.get()
    assert (stored.message_id, stored.topic, stored.case_id) == (
        str(message_id),
        "taobao_refund_RefundCreated",
        refund["refund_id"],
    )
    assert stored.payload["user_nick"] == taobao.seller_nick
    assert inbox_process().processed == 1
    ticket = ticket_of(refund["refund_id"])
    assert (ticket.kind, ticket.state) == ("return", "requested")
    assert ticket.platform_due_at is not None


def test_a_message_tmc_sends_again_because_its_confirm_was_lost_changes_nothing_twice(connection, taobao, tmc):
    refund = taobao.create("return_refund")
    message_id = tmc.publish_refund(taobao, refund["refund_id"])
    tmc.drop_confirms = 1  # the first confirm never reaches TMC: the message is sent again
    bridge = bridge_for(connection, tmc)

    bridge.run(within(10, lambda: tmc.confirmed == [message_id]))

    assert tmc.sent.count(message_id) == 2 and tmc.confirmed == [message_id]
    assert bridge.stats.acknowledged == 2
    assert InboxMessage.objects.filter(message_id=str(message_id)).count() == 1
    inbox_process()
    ticket = ticket_of(refund["refund_id"])
    assert TicketEvent.objects.filter(ticket_id=ticket.pk, event_type=EventType.CREATED).count() == 1


def test_the_bridge_reconnects_after_tmc_drops_the_connection_and_gets_what_was_sent_meanwhile(connection, taobao, tmc):
    first, second = taobao.create("refund_only"), taobao.create("return_refund")
    tmc.publish_refund(taobao, first["refund_id"])
    bridge = bridge_for(connection, tmc)
    kicked = []

    def until() -> bool:
        if len(tmc.confirmed) == 1 and not kicked:
            tmc.kick()  # TMC closes the connection; a message arrives while the bridge is away
            tmc.publish_refund(taobao, second["refund_id"], "RefundCreated")
            kicked.append(True)
        return len(tmc.confirmed) == 2

    bridge.run(within(15, until))

    assert tmc.connects == 2 and bridge.stats.sessions == 2
    assert "closed" in bridge.stats.events
    assert tmc.queue == {}
    assert set(InboxMessage.objects.values_list("case_id", flat=True)) == {first["refund_id"], second["refund_id"]}
    inbox_process()
    assert ticket_of(second["refund_id"]).state == "requested"


def test_a_connect_with_a_wrong_secret_is_refused_and_nothing_is_stored(connection, taobao, tmc):
    connection.app_secret = "not-the-app-secret"
    connection.save()
    tmc.publish_refund(taobao, taobao.create("refund_only")["refund_id"])
    bridge = bridge_for(connection, tmc)

    bridge.run(within(10, lambda: bridge.stats.refused >= 2))

    assert tmc.refusals[:2] == ["sign error", "sign error"]
    assert bridge.stats.sessions == 0 and "refused: 401: sign error" in bridge.stats.last_error
    assert InboxMessage.objects.count() == 0 and tmc.sent == [] and len(tmc.queue) == 1


def test_messages_of_other_topics_and_of_shops_without_a_connection_are_confirmed_not_stored(connection, taobao, tmc):
    trade = tmc.publish(taobao.seller_nick, "taobao_trade_TradeCreate", {"tid": "1"})
    foreign = tmc.publish("另一家店", "taobao_refund_RefundCreated", {"refund_id": "9", "tid": "9"})
    bridge = bridge_for(connection, tmc)

    bridge.run(within(10, lambda: len(tmc.confirmed) == 2))

    assert sorted(tmc.confirmed) == sorted([trade, foreign])
    assert bridge.stats.foreign == 1 and InboxMessage.objects.count() == 0


def test_the_bridge_asks_tmc_for_waiting_messages_every_pull_interval(connection, tmc):
    bridge = bridge_for(connection, tmc)

    bridge.run(within(10, lambda: tmc.pull_requests >= 2))

    assert tmc.pull_requests >= 2 and bridge.stats.sessions == 1


def test_frames_round_trip_through_the_codec():
    frame = tmc_frames.Frame(
        tmc_frames.SEND, {"__kind": tmc_frames.Int16(2), "id": 2**40, "topic": "t", "none": None}, token="tk"
    )

    decoded = tmc_frames.decode(tmc_frames.encode(frame))

    assert decoded.headers == {"__kind": 2, "id": 2**40, "topic": "t", "none": None} and decoded.token == "tk"
    with pytest.raises(tmc_frames.FrameError):
        tmc_frames.decode(tmc_frames.encode(frame)[:-3])


@pytest.mark.django_db(transaction=True)
def test_the_command_serves_every_taobao_connection_until_it_is_told_to_stop(connection, taobao, tmc):
    refund = taobao.create("refund_only")
    message_id = tmc.publish_refund(taobao, refund["refund_id"])

    stop_when(lambda: tmc.confirmed == [message_id])  # then SIGTERM, as systemd stops it
    out = io.StringIO()
    call_command("connectors_tmc", url=tmc.url, stdout=out)

    assert "1 app(s), 1 shop(s)" in out.getvalue()
    assert tmc.confirmed == [message_id]
    assert InboxMessage.objects.get().case_id == refund["refund_id"]


def test_the_command_says_which_connection_it_cannot_serve(connection):
    with pytest.raises(CommandError, match="No active taobao connection with id 999"):
        call_command("connectors_tmc", connection=[connection.pk, 999])


def test_the_bridge_obeys_the_guarded_clients_address_rules(connection, tmc, settings):
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False  # production: only public internet addresses
    bridge = bridge_for(connection, tmc)

    bridge.run(within(5, lambda: bridge.stats.failures >= 2))

    assert tmc.connects == 0 and tmc.refusals == [] and bridge.stats.sessions == 0
    assert "127.0.0.1 is a loopback address" in bridge.stats.last_error
    with pytest.raises(BlockedTarget, match="Only ws and wss URLs are allowed"):
        open_websocket(tmc.url.replace("ws://", "http://"), deadline=1)
    with pytest.raises(BlockedTarget, match="cloud metadata"):
        open_websocket("ws://169.254.169.254/", deadline=1)


def test_a_message_frame_without_an_id_or_topic_is_unreadable_and_not_confirmed(connection, tmc):
    bridge = bridge_for(connection, tmc)
    bridge.token = "tk"
    nameless = tmc_frames.encode(tmc_frames.Frame(tmc_frames.SEND, {"topic": "taobao_refund_RefundCreated"}))
    voided = tmc_frames.encode(tmc_frames.Frame(tmc_frames.SEND, {"id": None, "topic": "taobao_refund_RefundClosed"}))

    with pytest.raises(ValueError, match="without id or topic"):
        bridge.read(nameless)
    with pytest.raises((ValueError, TypeError)):
        bridge.read(voided)
