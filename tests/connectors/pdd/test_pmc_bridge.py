"""The PMC bridge (connectors/bridges/pmc.py) against the local PMC (tests/simulators/pmc.py), a WebSocket server
in front of the PDD simulator: a case pushed by PMC becomes a ticket; a frame PMC sends twice is one timeline
entry; a dropped connection is reopened; a wrong signature is refused before the upgrade."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from connectors.bridges.pmc import PmcBridge
from connectors.models import InboxMessage, PlatformCase, ShopConnection
from connectors.services.sync import inbox_process
from tests.connectors.bridging import stop_when, within
from tests.simulators.pdd import PddSimulator
from tests.simulators.pmc import PmcSimulator, pmc_running
from tickets.models import EventType, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def pmc(pdd: PddSimulator) -> Iterator[PmcSimulator]:
    with pmc_running(pdd, redeliver_after=0.3) as simulator:
        yield simulator


def bridge_for(connection: ShopConnection, pmc: PmcSimulator) -> PmcBridge:
    return PmcBridge([connection], url=pmc.url, heartbeat=0.2, backoff_base=0.05, backoff_max=0.2, open_timeout=5)


def ticket_state(after_sales_id: str) -> str:
    case = PlatformCase.objects.get(case_id__startswith=f"{after_sales_id}:")
    assert case.ticket is not None, case.last_error
    return case.ticket.state


def test_a_refund_pushed_by_pmc_is_stored_acknowledged_and_becomes_a_ticket(connection, pdd, pmc):
    case = pdd.create("refund_only")
    frame = pdd.frame(str(case["id"]))
    bridge = bridge_for(connection, pmc)

    bridge.run(within(10, lambda: pmc.acked == [frame["id"]]))

    assert pmc.acked == [frame["id"]] and pdd.unacked == {} and pdd.bad_acks == []
    stored = InboxMessage.objects.get()
    assert (stored.platform, stored.message_id, stored.topic) == ("pdd", str(frame["id"]), "pdd_refund_RefundCreated")
    assert inbox_process().processed == 1
    assert ticket_state(str(case["id"])) == "requested"


def test_a_frame_pmc_sends_again_because_its_ack_was_lost_changes_nothing_twice(connection, pdd, pmc):
    case = pdd.create("return_refund")
    frame = pdd.frame(str(case["id"]))
    pmc.drop_acks = 1
    bridge = bridge_for(connection, pmc)

    bridge.run(within(10, lambda: pmc.acked == [frame["id"]]))

    assert pmc.sent.count(frame["id"]) == 2 and bridge.stats.acknowledged == 2
    assert InboxMessage.objects.count() == 1
    inbox_process()
    ticket_id = PlatformCase.objects.get().ticket_id
    assert TicketEvent.objects.filter(ticket_id=ticket_id, event_type=EventType.CREATED).count() == 1


def test_the_bridge_reconnects_after_pmc_drops_the_connection(connection, pdd, pmc):
    first, second = pdd.create("refund_only"), pdd.create("return_refund")
    pdd.frame(str(first["id"]))
    bridge = bridge_for(connection, pmc)
    kicked: list[bool] = []

    def until() -> bool:
        if len(pmc.acked) == 1 and not kicked:
            pmc.kick()
            pdd.frame(str(second["id"]))
            kicked.append(True)
        return len(pmc.acked) == 2

    bridge.run(within(15, until))

    assert pmc.connects == 2 and bridge.stats.sessions == 2 and pdd.unacked == {}
    assert InboxMessage.objects.count() == 2


def test_a_wrong_signature_is_refused_before_the_upgrade_and_nothing_is_stored(connection, pdd, pmc):
    connection.app_secret = "not-the-client-secret"
    connection.save()
    pdd.frame(str(pdd.create("refund_only")["id"]))
    bridge = bridge_for(connection, pmc)

    bridge.run(within(10, lambda: bridge.stats.refused >= 2))

    assert len(pmc.refusals) >= 2 and pmc.connects == 0
    assert bridge.stats.last_error == "refused: HTTP 401" and InboxMessage.objects.count() == 0
    assert len(pdd.unacked) == 1


def test_the_bridge_sends_heartbeats_and_drops_frames_of_other_types_after_acknowledging(connection, pdd, pmc):
    frame = pdd.frame(str(pdd.create("refund_only")["id"]), topic="pdd_trade_TradeModified")
    bridge = bridge_for(connection, pmc)

    bridge.run(within(10, lambda: pmc.heartbeats >= 2 and pmc.acked == [frame["id"]]))

    assert pmc.heartbeats >= 2 and pmc.acked == [frame["id"]]
    assert InboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_command_serves_the_pdd_connections_until_it_is_told_to_stop(connection, pdd, pmc):
    frame = pdd.frame(str(pdd.create("refund_only")["id"]))
    stop_when(lambda: pmc.acked == [frame["id"]])
    out = io.StringIO()

    call_command("connectors_pmc", url=pmc.url, stdout=out)

    assert "1 app(s), 1 shop(s)" in out.getvalue()
    assert InboxMessage.objects.get().message_id == str(frame["id"])
