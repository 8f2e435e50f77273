"""回访: the satisfaction request a resolution sends, the signed link, the buyer's one answer, the follow-up.

Through the real services: a complaint's buyer accepts the resolution (a ``closed`` transition), which writes the
ticket's survey and the buyer's SMS in the outbox with the link; the link's page takes one answer.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from notifications.models import Audience, Channel, Event, Notification
from quality.models import FollowUp, FollowUpStatus, Survey
from quality.services import SurveyAlreadyAnswered, follow_up_open, survey_answer, survey_request
from quality.tokens import SALT, survey_token
from routing.models import Department, StaffMember
from tests.factories.tickets import buyer_actor, ticket_build, user_create
from tests.quality.support import complaint_resolved, sms_shop
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://testserver(/survey/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.KEFU_PUBLIC_BASE_URL = "http://testserver"
    settings.KEFU_SURVEY_VALID_DAYS = 14
    settings.KEFU_SURVEY_LOW_SCORE = 2


def survey_message(ticket) -> Notification:
    return Notification.objects.get(ticket=ticket, event=Event.SATISFACTION_REQUEST)


def link_of(ticket) -> str:
    found = LINK.search(survey_message(ticket).body)
    assert found, survey_message(ticket).body
    return found.group(1)


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", ["服务评价", "请为本次服务打分", "前有效"]), ("en", ["How did we do", "Please rate our service"])],
)
def test_a_resolution_sends_the_buyer_one_sms_with_the_signed_link_in_their_language(language, words) -> None:
    ticket = complaint_resolved(sms_shop(language))
    message = survey_message(ticket)
    assert (message.audience, message.channel, message.recipient, message.language) == (
        Audience.BUYER,
        Channel.SMS,
        "13800000001",
        language,
    )
    for word in words:
        assert word in message.subject + message.body
    assert ticket.number in message.body
    assert Client().get(link_of(ticket)).status_code == 200
    survey = Survey.objects.get(ticket=ticket)
    assert survey.language == language
    assert survey.expires_at == survey.sent_at + timedelta(days=14)


def test_the_request_is_sent_once_even_when_a_reopened_complaint_is_resolved_again() -> None:
    ticket = complaint_resolved()
    ticket = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="reopen", reason="还是有问题")
    ticket = ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="cancel")  # not a resolution
    assert Survey.objects.filter(ticket=ticket).count() == 1
    assert Notification.objects.filter(ticket=ticket, event=Event.SATISFACTION_REQUEST).count() == 1
    assert survey_request(ticket=ticket) is None


def test_a_cancelled_ticket_gets_no_request() -> None:
    ticket = ticket_build("complaint", "open", order=None)
    ticket_act(ticket=ticket, actor=buyer_actor(ticket), action="cancel")
    assert not Survey.objects.filter(ticket=ticket).exists()


def test_the_buyer_answers_once_without_an_account_and_sees_their_answer_after() -> None:
    ticket = complaint_resolved()
    url = link_of(ticket)
    client = Client(enforce_csrf_checks=True)  # as a real browser: no cookie is needed, none is set
    page = client.get(url)
    assert "请为我们的服务打分" in page.content.decode()
    assert not page.cookies
    answered = client.post(url, {"score": "4", "comment": "处理很快"})
    assert answered.status_code == 302
    thanks = client.get(url).content.decode()
    assert "感谢您的评价" in thanks and "处理很快" in thanks
    survey = Survey.objects.get(ticket=ticket)
    assert (survey.score, survey.comment) == (4, "处理很快")

    again = client.post(url, {"score": "1", "comment": "改主意了"})
    assert again.status_code == 200
    assert "感谢您的评价" in again.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (4, "处理很快")  # the first answer stands
    assert not FollowUp.objects.exists()


def test_an_answer_without_a_score_is_refused_with_a_translated_message() -> None:
    ticket = complaint_resolved()
    page = Client().post(link_of(ticket), {"comment": "没选分"})
    assert page.status_code == 400
    assert "请选择 1 到 5 分" in page.content.decode()
    assert "没选分" in page.content.decode()  # what they wrote is kept
    assert Survey.objects.get(ticket=ticket).answered_at is None


def test_a_tampered_link_gets_a_friendly_translated_page_not_an_error() -> None:
    ticket = complaint_resolved()
    url = link_of(ticket)
    token = url.split("/")[2]
    forged = signing.dumps(Survey.objects.get(ticket=ticket).pk, salt=SALT, key="not-the-site-key")
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "nonsense", forged):
        page = Client(headers={"accept-language": "zh-hans"}).get(f"/survey/{bad}/")
        assert page.status_code == 404
        assert "链接无效" in page.content.decode()
    english = Client(headers={"accept-language": "en"}).get("/survey/nonsense/")
    assert "This link does not work" in english.content.decode()


def test_a_link_signed_for_a_survey_that_no_longer_exists_is_refused() -> None:
    page = Client(headers={"accept-language": "zh-hans"}).get(f"/survey/{survey_token(987654)}/")
    assert page.status_code == 404


def test_an_expired_link_shows_the_expiry_page_and_takes_no_answer() -> None:
    ticket = complaint_resolved()
    url = link_of(ticket)
    with time_machine.travel(timezone.now() + timedelta(days=15), tick=False):
        page = Client(headers={"accept-language": "zh-hans"}).get(url)
        assert page.status_code == 410
        assert "链接已过期" in page.content.decode()
        posted = Client().post(url, {"score": "5"})
        assert posted.status_code == 410
    assert Survey.objects.get(ticket=ticket).answered_at is None


def test_a_low_score_opens_one_follow_up_and_tells_the_supervisors() -> None:
    boss = user_create(email="boss@example.com")
    StaffMember.objects.create(user=boss, on_duty=True).departments.set([Department.objects.get(code="supervisors")])
    ticket = complaint_resolved()
    survey = Survey.objects.get(ticket=ticket)
    survey_answer(survey_id=survey.pk, score=2, comment="态度差")
    follow_up = FollowUp.objects.get()
    assert (follow_up.ticket_id, follow_up.status) == (ticket.pk, FollowUpStatus.OPEN)
    note = Notification.objects.get(ticket=ticket, event=Event.LOW_SATISFACTION)
    assert (note.audience, note.channel, note.recipient) == (Audience.SUPERVISORS, Channel.EMAIL, "boss@example.com")
    assert "2 分" in note.subject and "态度差" in note.body

    with pytest.raises(SurveyAlreadyAnswered):
        survey_answer(survey_id=survey.pk, score=1)

    assert follow_up_open(survey=survey) is None  # idempotent
    assert FollowUp.objects.count() == 1
    assert Notification.objects.filter(event=Event.LOW_SATISFACTION).count() == 1


def test_a_score_above_the_threshold_opens_no_follow_up() -> None:
    survey = Survey.objects.get(ticket=complaint_resolved())
    survey_answer(survey_id=survey.pk, score=3)
    assert not FollowUp.objects.exists()


def test_a_storefront_webhook_carries_the_link_in_its_data() -> None:
    from tests.factories.orders import ShopFactory

    shop = ShopFactory(webhook_url="https://shop.example.com/kefu/webhook", webhook_secret="s")
    ticket = complaint_resolved(shop)
    message = survey_message(ticket)
    assert (message.channel, message.payload["event"]) == (Channel.WEBHOOK, "satisfaction_request")
    assert message.payload["ticket"]["number"] == ticket.number
    path = LINK.search(message.payload["data"]["survey_url"]).group(1)
    assert Client().get(path).status_code == 200
