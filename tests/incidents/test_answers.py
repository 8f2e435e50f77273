"""A buyer's answer moves their own ticket, through the signed link's page and through the storefront API.

Each offer runs the ticket's declared transitions (incidents.paths): waiting is compensated and paid from the
shop's coupon pool (or waits for a second supervisor above the approval threshold), an exchange reships the
alternative SKU, a refund opens the linked refund-only return. The answer is final.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from api.models import ApiKey
from incidents.answers import AnswerAlreadyGiven, AnswerClosed, AnswerInvalid, incident_answer
from incidents.closing import incident_close
from incidents.models import IncidentOffer, IncidentTicket
from incidents.tokens import SALT
from kefu.core.vocabulary import ExchangeState, LogisticsState, ReturnState
from payments.models import CompensationPayout
from tests.api.conftest import storefront_client
from tests.incidents.affected import answer_path, coupons, running_incident, supervisor
from tickets.actors import Actor
from tickets.models import Ticket, TicketEvent
from tickets.payments import PayoutStatus
from tickets.selectors import ticket_get

pytestmark = pytest.mark.django_db

ALL_OFFERS = [IncidentOffer.WAIT, IncidentOffer.EXCHANGE, IncidentOffer.REFUND]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.KEFU_PUBLIC_BASE_URL = "http://testserver"
    settings.KEFU_INCIDENT_ANSWER_VALID_DAYS = 30
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 50
    settings.KEFU_INCIDENT_COMPENSATION_METHOD = "coupon"


def first_affected(incident) -> IncidentTicket:
    return IncidentTicket.objects.filter(incident=incident).order_by("pk").first()


def state_of(affected: IncidentTicket) -> str:
    return ticket_get(pk=affected.ticket_id).state


def timeline_reasons(affected: IncidentTicket) -> list[str]:
    return [str(e.reason) for e in TicketEvent.objects.filter(ticket_id=affected.ticket_id).order_by("pk")]


def test_waiting_is_compensated_through_compensate_and_paid_with_a_coupon_which_resolves_the_ticket() -> None:
    incident = running_incident(count=1, offers=ALL_OFFERS, alternative_sku="SKU-B")
    affected = first_affected(incident)
    coupons(affected.order.shop, "5.00")

    incident_answer(affected_id=affected.pk, choice="wait")

    affected.refresh_from_db()
    assert (affected.answer, affected.answered_at is not None) == ("wait", True)
    ticket = ticket_get(pk=affected.ticket_id)
    assert ticket.state == LogisticsState.RESOLVED
    assert ticket.compensation_amount == Decimal("5.00")
    payout = CompensationPayout.objects.get(ticket_id=ticket.pk)
    assert (payout.status, payout.amount, payout.method) == (PayoutStatus.SUCCEEDED, Decimal("5.00"), "coupon")
    transitions = list(
        TicketEvent.objects.filter(ticket_id=ticket.pk, event_type="transition")
        .order_by("pk")
        .values_list("transition", flat=True)
    )
    assert transitions == ["investigate", "compensate", "resolve"]
    assert any("买家在事件" in reason and "选择了" in reason for reason in timeline_reasons(affected))


def test_waiting_above_the_approval_threshold_waits_for_a_second_supervisor(settings) -> None:
    settings.KEFU_COMPENSATION_APPROVAL_THRESHOLD = 1
    incident = running_incident(count=1)
    affected = first_affected(incident)
    coupons(affected.order.shop, "5.00")
    incident_answer(affected_id=affected.pk, choice="wait")
    ticket = ticket_get(pk=affected.ticket_id)
    assert ticket.state == LogisticsState.COMPENSATION_REVIEW
    assert ticket.compensation_proposed_by_id == incident.started_by_id  # the maker may not approve it
    assert not CompensationPayout.objects.exists()


def test_an_empty_coupon_pool_leaves_the_compensation_approved_for_the_staff_with_a_note() -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    incident_answer(affected_id=affected.pk, choice="wait")
    assert state_of(affected) == LogisticsState.COMPENSATING
    assert any("未能自动执行" in reason for reason in timeline_reasons(affected))
    affected.refresh_from_db()
    assert affected.answer == "wait"


def test_a_compensation_above_the_shops_cap_is_not_made_and_the_staff_are_told(settings) -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    shop = affected.order.shop
    shop.compensation_cap = Decimal("2.00")
    shop.save()
    incident_answer(affected_id=affected.pk, choice="wait")
    assert state_of(affected) == LogisticsState.REPORTED  # nothing half done
    assert any("未能自动执行" in reason for reason in timeline_reasons(affected))


def test_an_exchange_reships_the_alternative_sku() -> None:
    incident = running_incident(count=1, offers=ALL_OFFERS, alternative_sku="SKU-B")
    affected = first_affected(incident)
    incident_answer(affected_id=affected.pk, choice="exchange")
    assert state_of(affected) == LogisticsState.RESHIPPING
    assert any("SKU-B" in reason for reason in timeline_reasons(affected))


def test_a_refund_opens_the_linked_refund_only_return_in_the_refund_lifecycle() -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    incident_answer(affected_id=affected.pk, choice="refund")
    assert state_of(affected) == LogisticsState.REFUNDING
    refund = Ticket.objects.get(origin_id=affected.ticket_id)
    assert (refund.kind, refund.state) == ("return", ReturnState.REFUND_PENDING)
    assert refund.refunds.get().amount == Decimal("99.00")


def test_an_incidents_exchange_ticket_is_approved_or_withdrawn_for_a_refund(settings) -> None:
    incident = running_incident(count=2, offers=[IncidentOffer.EXCHANGE], alternative_sku="SKU-B")
    one, two = IncidentTicket.objects.filter(incident=incident).order_by("pk")
    assert ticket_get(pk=one.ticket_id).kind == "exchange"
    incident_answer(affected_id=one.pk, choice="exchange")
    assert state_of(one) == ExchangeState.AWAITING_RETURN
    with pytest.raises(AnswerInvalid):  # not an offer of this incident
        incident_answer(affected_id=two.pk, choice="refund")


def test_the_answer_is_final_and_a_closed_incident_takes_none() -> None:
    incident = running_incident(count=2)
    one, two = IncidentTicket.objects.filter(incident=incident).order_by("pk")
    incident_answer(affected_id=one.pk, choice="refund")
    with pytest.raises(AnswerAlreadyGiven):
        incident_answer(affected_id=one.pk, choice="wait")
    with pytest.raises(AnswerInvalid):
        incident_answer(affected_id=two.pk, choice="exchange")  # not offered by this incident
    incident_close(incident=incident, actor=Actor.staff(supervisor()), closing_message="已恢复")
    with pytest.raises(AnswerClosed):
        incident_answer(affected_id=two.pk, choice="refund")


# -- the page -------------------------------------------------------------------------------------------


def test_the_buyer_answers_on_the_page_without_an_account_and_sees_their_answer_after() -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    url = answer_path(affected)
    client = Client(enforce_csrf_checks=True)  # as a real browser: no cookie is needed, none is set
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200 and not page.cookies
    assert "您希望我们怎么处理" in body and "中转站停运" in body and affected.order.number in body
    assert 'name="viewport"' in body  # phone-sized
    assert 'value="wait"' in body and 'value="refund"' in body and 'value="exchange"' not in body

    answered = client.post(url, {"answer": "refund"})
    assert answered.status_code == 302
    after = client.get(url).content.decode()
    assert "谢谢，我们已收到您的选择" in after and 'id="incident-form"' not in after
    again = client.post(url, {"answer": "wait"})
    assert again.status_code == 200 and "谢谢，我们已收到您的选择" in again.content.decode()
    affected.refresh_from_db()
    assert affected.answer == "refund"
    assert state_of(affected) == LogisticsState.REFUNDING


def test_an_english_shops_buyer_reads_the_page_in_english() -> None:
    incident = running_incident(count=1, language="en")
    body = Client().get(answer_path(first_affected(incident))).content.decode()
    assert "What would you like us to do?" in body and "Your parcel is delayed" in body


def test_no_choice_is_refused_with_a_translated_message_and_nothing_changes() -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    page = Client().post(answer_path(affected), {"answer": "bogus"})
    assert page.status_code == 400
    assert "请从提供的选项中选择一项" in page.content.decode()
    affected.refresh_from_db()
    assert affected.answered_at is None and state_of(affected) == LogisticsState.REPORTED


def test_a_tampered_link_is_a_friendly_404_and_an_expired_one_a_410() -> None:
    incident = running_incident(count=1)
    url = answer_path(first_affected(incident))
    tampered = Client().get(url[:-3] + "xx/")
    assert tampered.status_code == 404 and 'id="incident-invalid"' in tampered.content.decode()
    survey_like = signing.dumps(first_affected(incident).pk, salt="kefu.quality.survey", compress=False)
    assert Client().get(f"/incident/{survey_like}/").status_code == 404  # another link's token
    assert signing.loads(url.split("/")[2], salt=SALT) == first_affected(incident).pk
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        expired = Client().get(url)
    assert expired.status_code == 410 and 'id="incident-expired"' in expired.content.decode()


# -- the storefront API ------------------------------------------------------------------------------------


def test_the_storefront_answers_for_its_buyer_through_the_api() -> None:
    incident = running_incident(count=1)
    affected = first_affected(incident)
    shop = affected.order.shop
    _key, raw = ApiKey.issue(shop=shop, name="storefront")
    client = storefront_client(raw)
    number = ticket_get(pk=affected.ticket_id).number
    url = f"/api/v1/tickets/{number}/incident/"

    shown = client.get(url)
    assert shown.status_code == 200, shown.content
    assert shown.json()["offers"] == ["wait", "refund"] and shown.json()["answer"] == ""

    answered = client.post(url, {"answer": "refund"}, format="json")
    assert answered.status_code == 200, answered.content
    assert answered.json()["answer"] == "refund" and answered.json()["ticket_state"] == LogisticsState.REFUNDING
    again = client.post(url, {"answer": "wait"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "incident_already_answered")

    _other, other_raw = ApiKey.issue(shop=running_incident(count=1).shops.get(), name="another shop")
    assert storefront_client(other_raw).get(url).status_code == 404
