"""协商, 小二介入 and the exchange's parcel on Taobao/Tmall, against the local TOP simulator.

The staff's counter-offer goes out as ``taobao.refund.negotiatereturn``; the buyer's answer comes back as the
refund's next state. 小二's evidence deadline becomes the ticket's platform deadline (kefu warns before it), the
staff's evidence goes out as ``taobao.refund.message.add`` with the image, and 小二's ruling is the platform's
transition (the refund it decided settled as paid by Taobao).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from connectors.commands import Command, CommandName, PlatformError
from connectors.models import WriteBack
from connectors.platforms import connector_for
from connectors.services.sync import inbox_process
from tests.connectors.conftest import push, send_pending_writebacks, ticket_of, transitions
from tests.factories.tickets import staff_actor, ticket_build
from tests.simulators.taobao import TaobaoSimulator
from tickets.errors import TransitionNotAllowed
from tickets.models import EventType, Priority, Refund, RefundStatus
from tickets.services import ticket_act
from tickets.services.deadlines import sweep_due
from tickets.services.timeline import ticket_evidence_attach

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def arrive(client, taobao: TaobaoSimulator, refund_id: str, topic: str = "RefundCreated"):
    response = push(client, taobao.message(refund_id, topic))
    assert response.status_code == 200, response.content
    inbox_process()
    return ticket_of(refund_id)


# -- 协商: the merchant's counter-offer ---------------------------------------------------------------------


def test_a_counter_offer_goes_to_taobao_and_the_buyers_acceptance_settles_the_offered_amount(
    client, connection, taobao
):
    refund = taobao.create("return_refund")  # ¥89.90 asked
    ticket = arrive(client, taobao, refund["refund_id"])

    ticket = ticket_act(
        ticket=ticket,
        actor=staff_actor("operations"),
        action="counter_offer",
        offer="退 60 元，请退回商品",
        offer_amount=Decimal("60.00"),
    )

    assert ticket.state == "counter_offered" and ticket.due_at is None  # the buyer's turn
    assert send_pending_writebacks() == ["sent"]
    method, params = taobao.writes[-1]
    assert method == "taobao.refund.negotiatereturn"
    assert (params["refund_fee"], params["address_id"]) == ("6000", "5001")  # fen, the shop's address
    assert params["refund_version"] == str(refund["refund_version"])
    # Taobao shows no 协商 status: while the buyer thinks, kefu's offer stands (no drift).
    ticket = arrive(client, taobao, refund["refund_id"], "RefundCreateMessage")
    assert ticket.state == "counter_offered"

    taobao.buyer_accepts_offer(refund["refund_id"])
    ticket = arrive(client, taobao, refund["refund_id"], "RefundBuyerModifyAgreement")

    assert ticket.state == "awaiting_return" and ticket.requested_amount == Decimal("60.00")
    assert transitions(ticket) == [("counter_offer", "staff"), ("accept_offer", "platform")]
    assert WriteBack.objects.count() == 1  # the platform's own report is not written back


def test_an_offer_left_unanswered_lapses_when_taobao_agrees_the_original_request(client, connection, taobao):
    refund = taobao.create("return_refund", deadline_hours=48)
    ticket = arrive(client, taobao, refund["refund_id"])
    ticket_act(
        ticket=ticket,
        actor=staff_actor("operations"),
        action="counter_offer",
        offer="退 60 元",
        offer_amount=Decimal("60"),
    )
    send_pending_writebacks()
    taobao.buyer_declines_offer(refund["refund_id"])

    taobao.advance(timedelta(hours=49))  # Taobao agrees the buyer's ¥89.90 at its deadline
    ticket = arrive(client, taobao, refund["refund_id"], "RefundSellerAgreeAgreement")

    assert ticket.state == "awaiting_return" and ticket.requested_amount == Decimal("89.90")
    assert transitions(ticket)[1:] == [("decline_offer", "platform"), ("approve", "platform")]


def test_a_counter_offer_on_a_refund_only_case_is_handed_back_saying_to_use_the_back_office(client, connection, taobao):
    refund = taobao.create("refund_only")
    ticket = arrive(client, taobao, refund["refund_id"])
    ticket_act(
        ticket=ticket,
        actor=staff_actor("operations"),
        action="counter_offer",
        offer="退 50 元",
        offer_amount=Decimal("50"),
    )

    assert send_pending_writebacks() == ["dead"]

    ticket = ticket_of(refund["refund_id"])
    assert ticket.priority == Priority.URGENT
    escalation = ticket.events.get(event_type=EventType.ESCALATION)
    assert "千牛" in escalation.reason and escalation.actor_kind == "platform"
    assert "taobao.refund.negotiatereturn" not in taobao.calls


def test_an_offer_above_the_request_is_refused_in_kefu_naming_the_field(client, connection, taobao):
    refund = taobao.create("return_refund")
    ticket = arrive(client, taobao, refund["refund_id"])

    with pytest.raises(Exception) as refused:
        ticket_act(
            ticket=ticket,
            actor=staff_actor("operations"),
            action="counter_offer",
            offer="退 100",
            offer_amount=Decimal("100"),
        )

    assert getattr(refused.value, "field", "") == "offer_amount"
    assert ticket_of(refund["refund_id"]).state == "requested" and not WriteBack.objects.exists()


# -- 小二介入: the platform's intervention -------------------------------------------------------------------


def rejected_and_taken_to_xiaoer(client, taobao, *, evidence_hours: float = 10):
    refund = taobao.create("return_refund")
    ticket = arrive(client, taobao, refund["refund_id"])
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="reject", reason="商品已使用，影响二次销售")
    assert send_pending_writebacks() == ["sent"]
    taobao.intervene(refund["refund_id"], evidence_hours=evidence_hours)
    return refund, arrive(client, taobao, refund["refund_id"], "RefundBlockMessage")


def test_xiaoers_evidence_deadline_is_the_tickets_platform_deadline_and_kefu_warns_before_it(
    client, connection, taobao
):
    refund, ticket = rejected_and_taken_to_xiaoer(client, taobao, evidence_hours=10)

    assert ticket.state == "arbitration"
    assert transitions(ticket)[-1] == ("escalate", "platform")
    deadline = ticket.platform_due_at
    assert deadline is not None and abs(deadline - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert ticket.due_at == deadline - timedelta(minutes=120)  # before 小二 decides without the evidence
    assert ticket.warn_at is not None and ticket.warn_at < ticket.due_at

    result = sweep_due(now=ticket.warn_at + timedelta(minutes=1))

    assert result.warned == 1 and ticket_of(refund["refund_id"]).state == "arbitration"


def test_evidence_goes_to_taobao_with_the_image_and_the_ruling_for_the_buyer_settles_xiaoers_amount(
    client, connection, taobao
):
    refund, ticket = rejected_and_taken_to_xiaoer(client, taobao)
    ticket_evidence_attach(
        ticket=ticket,
        actor=staff_actor("supervisors"),
        file=ContentFile(PNG, name="unboxing.png"),
        original_name="unboxing.png",
        content_type="image/png",
    )

    ticket = ticket_act(
        ticket=ticket, actor=staff_actor("supervisors"), action="submit_evidence", statement="签收时完好，见开箱图"
    )
    assert ticket.state == "evidence_submitted"
    assert send_pending_writebacks() == ["sent"]
    [sent] = taobao.evidence
    assert (sent["content"], sent["image"]) == ("签收时完好，见开箱图", PNG)
    ticket = arrive(client, taobao, refund["refund_id"], "RefundCreateMessage")
    assert ticket.state == "evidence_submitted" and ticket.platform_due_at is None  # 小二 has it

    taobao.rule(refund["refund_id"], buyer_wins=True, refund_fee="50.00")
    ticket = arrive(client, taobao, refund["refund_id"], "RefundSuccess")

    assert ticket.state == "refunded" and ticket.approved_amount == Decimal("50.00")
    assert transitions(ticket)[-2:] == [("uphold_buyer", "platform"), ("complete_refund", "platform")]
    paid = Refund.objects.get(ticket_id=ticket.pk)
    assert (paid.amount, paid.status) == (Decimal("50.00"), RefundStatus.SUCCEEDED)


def test_xiaoer_asking_again_reopens_the_evidence_step_and_ruling_for_the_seller_closes(client, connection, taobao):
    refund, ticket = rejected_and_taken_to_xiaoer(client, taobao)
    ticket_act(ticket=ticket, actor=staff_actor("supervisors"), action="submit_evidence", statement="见聊天记录")
    send_pending_writebacks()

    taobao.ask_for_evidence(refund["refund_id"], evidence_hours=5)
    ticket = arrive(client, taobao, refund["refund_id"], "RefundBlockMessage")
    assert ticket.state == "arbitration" and transitions(ticket)[-1] == ("request_evidence", "platform")
    assert ticket.platform_due_at is not None

    taobao.rule(refund["refund_id"], buyer_wins=False)
    ticket = arrive(client, taobao, refund["refund_id"], "RefundClosed")

    assert ticket.state == "closed" and transitions(ticket)[-1] == ("uphold_rejection", "platform")
    assert not Refund.objects.filter(ticket_id=ticket.pk).exists()


def test_xiaoer_stepping_into_an_open_request_is_the_platforms_intervention(client, connection, taobao):
    refund = taobao.create("return_refund")
    arrive(client, taobao, refund["refund_id"])
    taobao.intervene(refund["refund_id"])

    ticket = arrive(client, taobao, refund["refund_id"], "RefundBlockMessage")

    assert ticket.state == "arbitration" and transitions(ticket) == [("intervene", "platform")]


def test_a_shops_own_ticket_has_no_platform_to_send_evidence_to(db):
    ticket = ticket_build("return", "arbitration")

    with pytest.raises(TransitionNotAllowed):
        ticket_act(ticket=ticket, actor=staff_actor("supervisors"), action="submit_evidence", statement="见图")


# -- 换货: the replacement's parcel ---------------------------------------------------------------------------


def test_the_exchange_parcel_goes_to_tmall_and_a_wrong_state_is_a_permanent_refusal(connection, taobao):
    taobao.create_exchange("880011", status="待发出换货商品")  # the goods are back: the new item is due
    connector = connector_for(connection)
    command = Command(CommandName.SHIP_EXCHANGE, case_id="exchange:880011", carrier="顺丰速运", waybill="SF1300000001")

    connector.execute(command)

    method, params = taobao.writes[-1]
    assert method == "tmall.exchange.consigngoods"
    assert (params["dispute_id"], params["logistics_no"], params["logistics_type"]) == ("880011", "SF1300000001", "200")
    with pytest.raises(PlatformError) as again:
        connector.execute(command)  # already shipped
    assert again.value.kind == "permanent" and "不允许" in again.value.message
