"""Return postage and 运费险: who pays follows the reason. The shop's fault: it refunds the postage on proof, up to
its cap, in the same refund as the goods (allocated to no order line), and the timeline says so. 七天无理由: the
buyer pays, or the shipping insurance when the order has it; the shop refunds nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from pytest_django import Settings

from kefu.core.errors import Conflict
from orders.models import OrderLine
from tests.api.conftest import storefront, url
from tests.factories.tickets import buyer_actor, order_with_line, staff_actor, ticket_reload
from tickets.errors import FieldRequired, InvalidAmount, NotPermitted
from tickets.models import Attachment, Refund, ReturnTicket, TicketEvent
from tickets.services import return_open, ticket_act
from tickets.services.postage import return_postage_record
from tickets.services.timeline import ticket_evidence_attach
from tickets.types import LineRequest
from tickets.wording import event_reason

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SHOP_FAULT = ["quality_problem", "missing_or_wrong_item", "damaged", "not_as_described"]


def awaiting_return(reason: str, *, insured: bool = False, cap: str | None = None, shop=None) -> ReturnTicket:
    fields = {"shipping_insurance": insured, **({"shop": shop} if shop else {})}
    order = order_with_line(quantity=1, paid_amount=Decimal("199.00"), **fields)
    if cap is not None:
        order.shop.return_postage_cap = Decimal(cap)
        order.shop.save(update_fields=["return_postage_cap"])
    ticket = return_open(order=order, actor=buyer_actor(order), lines=[LineRequest("SKU-A", 1)], reason_code=reason)
    return ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")


def receipt(ticket: ReturnTicket) -> Attachment:
    return ticket_evidence_attach(
        ticket=ticket,
        actor=buyer_actor(ticket),
        file=ContentFile(PNG, name="快递单.png"),
        original_name="快递单.png",
        content_type="image/png",
    )


def refunded_after_inspection(ticket: ReturnTicket) -> Refund:
    ticket = ticket_act(
        ticket=ticket, actor=buyer_actor(ticket), action="ship_back", carrier="SF", tracking_number="SF1"
    )
    ticket = ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="receive")
    ticket_act(ticket=ticket, actor=staff_actor("warehouse"), action="pass_inspection")
    return Refund.objects.get(ticket=ticket)


@pytest.mark.parametrize("reason", SHOP_FAULT)
def test_the_shop_refunds_the_postage_of_its_fault_with_the_goods(reason: str, settings: Settings) -> None:
    settings.KEFU_RETURN_POSTAGE_CAP = 20.0
    ticket = awaiting_return(reason)

    ticket = return_postage_record(
        ticket=ticket, amount=Decimal("12.00"), proof=receipt(ticket), actor=buyer_actor(ticket)
    )
    refund = refunded_after_inspection(ticket)

    stored = ticket_reload(ticket)
    assert (stored.return_postage_payer, stored.return_postage_refund) == ("shop", Decimal("12.00"))
    assert (refund.amount, refund.postage_amount) == (Decimal("211.00"), Decimal("12.00"))
    assert OrderLine.objects.get(order=ticket.order).refunded_amount == Decimal("199.00")  # the goods only
    reserved = TicketEvent.objects.get(ticket=ticket, event_type="refund", payload__status="reserved")
    assert (reserved.payload["goods"], reserved.payload["postage"]) == ("199.00", "12.00")
    said = TicketEvent.objects.get(ticket=ticket, event_type="refund", payload__reason_code="postage_shop")
    assert "¥12.00 of it is refunded with the goods" in event_reason(said)


def test_the_shop_refunds_postage_up_to_its_cap_and_only_on_proof(settings: Settings) -> None:
    settings.KEFU_RETURN_POSTAGE_CAP = 20.0
    ticket = awaiting_return("damaged", cap="15.00")
    with pytest.raises(FieldRequired) as refused:
        return_postage_record(ticket=ticket, amount=Decimal("35.00"), proof=None, actor=buyer_actor(ticket))
    assert refused.value.field == "proof"

    ticket = return_postage_record(
        ticket=ticket, amount=Decimal("35.00"), proof=receipt(ticket), actor=buyer_actor(ticket)
    )

    assert refunded_after_inspection(ticket).amount == Decimal("214.00")  # 199 + the shop's cap of 15


def test_the_sites_default_cap_applies_when_the_shop_has_none(settings: Settings) -> None:
    settings.KEFU_RETURN_POSTAGE_CAP = 10.0
    ticket = awaiting_return("quality_problem")
    ticket = return_postage_record(
        ticket=ticket, amount=Decimal("18.00"), proof=receipt(ticket), actor=buyer_actor(ticket)
    )
    assert ticket.return_postage_refund == Decimal("10.00")


@pytest.mark.parametrize(
    ("insured", "payer", "words"), [(False, "buyer", "paid by the buyer"), (True, "insurer", "shipping insurance")]
)
def test_seven_days_no_reason_postage_is_the_buyers_or_the_insurers(insured: bool, payer: str, words: str) -> None:
    ticket = awaiting_return("seven_days_no_reason", insured=insured)

    ticket = return_postage_record(ticket=ticket, amount=Decimal("12.00"), proof=None, actor=buyer_actor(ticket))
    refund = refunded_after_inspection(ticket)

    assert (ticket.return_postage_payer, ticket.return_postage_refund) == (payer, Decimal("0.00"))
    assert (refund.amount, refund.postage_amount) == (Decimal("199.00"), Decimal("0.00"))
    said = TicketEvent.objects.get(ticket=ticket, event_type="refund", payload__reason_code=f"postage_{payer}")
    assert words in event_reason(said)


def test_no_postage_for_a_refund_only_or_after_the_refund_is_fixed_or_by_another_buyer() -> None:
    order = order_with_line()
    refund_only = return_open(
        order=order,
        actor=buyer_actor(order),
        lines=[LineRequest("SKU-A", 1)],
        reason_code="not_received",
        refund_only=True,
    )
    with pytest.raises(Conflict):
        return_postage_record(ticket=refund_only, amount=Decimal("8.00"), proof=None, actor=buyer_actor(order))
    ticket = awaiting_return("seven_days_no_reason")
    with pytest.raises(InvalidAmount):
        return_postage_record(ticket=ticket, amount=Decimal("0"), proof=None, actor=buyer_actor(ticket))
    stranger = buyer_actor(awaiting_return("seven_days_no_reason"))
    with pytest.raises(NotPermitted):
        return_postage_record(ticket=ticket, amount=Decimal("8.00"), proof=None, actor=stranger)
    refunded_after_inspection(ticket)
    with pytest.raises(Conflict):
        return_postage_record(
            ticket=ticket_reload(ticket), amount=Decimal("8.00"), proof=None, actor=buyer_actor(ticket)
        )


def test_the_storefront_records_postage_and_the_ticket_shows_who_pays() -> None:
    shop = storefront("shop-postage")
    ticket = awaiting_return("not_as_described", shop=shop.shop)
    proof = receipt(ticket)

    answer = shop.client.post(
        url("ticket-postage", number=ticket.number),
        {"amount": "9.50", "proof": proof.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="postage-1",
    )

    assert answer.status_code == 200, answer.content
    details = answer.json()["details"]
    assert (details["return_postage"], details["return_postage_paid_by"], details["return_postage_refunded"]) == (
        "9.50",
        "shop",
        "9.50",
    )
    refused = shop.client.post(
        url("ticket-postage", number=ticket.number),
        {"amount": "9.50", "proof": 999999},
        format="json",
        HTTP_IDEMPOTENCY_KEY="postage-2",
    )
    assert refused.status_code == 400 and "proof" in refused.content.decode()


def test_the_storefront_syncs_shipping_insurance_and_the_postage_rule_reads_it() -> None:
    from tests.api.test_storefront import order_body

    shop = storefront("shop-insured")
    path = url("order", number="T-INSURED")
    synced = shop.client.put(path, order_body(shipping_insurance=True, payment_provider="alipay"), format="json")
    assert synced.status_code == 201, synced.content
    assert (synced.json()["shipping_insurance"], synced.json()["payment_provider"]) == (True, "alipay")
    order = shop.shop.orders.get(number="T-INSURED")
    ticket = return_open(
        order=order, actor=buyer_actor(order), lines=[LineRequest("CAP", 1)], reason_code="seven_days_no_reason"
    )
    ticket = ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve")

    ticket = return_postage_record(ticket=ticket, amount=Decimal("10.00"), proof=None, actor=buyer_actor(ticket))

    assert (ticket.return_postage_payer, ticket.return_postage_refund) == ("insurer", Decimal("0.00"))
    resynced = shop.client.put(path, order_body(payment_provider="paypal"), format="json")
    assert resynced.status_code == 400 and "payment_provider" in resynced.content.decode()
