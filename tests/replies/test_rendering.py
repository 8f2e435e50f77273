"""A canned reply is rendered for the ticket in the buyer's language (the shop's notification language), with
every variable filled in; a body naming a variable that does not exist, or a tag outside the few allowed, is
refused when a supervisor saves it, saying which."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from replies.models import CannedReply
from replies.rendering import template_problem
from replies.services import reply_render
from tests.admin.conftest import logged_in, ticket
from tests.factories.tickets import order_with_line
from tests.replies.conftest import EVERY_VARIABLE_EN, EVERY_VARIABLE_ZH, RETURN_ADDRESS, reply, shop_with_address
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _return_for(shop, **fields) -> Ticket:
    order = order_with_line(shop=shop, number="TB20260301001", paid_amount=Decimal("258.00"))
    order.buyer.name = "林小美"
    order.buyer.save()
    due = timezone.make_aware(timezone.datetime(2026, 3, 9, 18, 0))
    made = ticket("return", "awaiting_return", order=order, approved_amount=Decimal("128.00"), **fields)
    Ticket.objects.filter(pk=made.pk).update(due_at=due)
    made.refresh_from_db()
    return made


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "zh-hans",
            "林小美您好，订单 TB20260301001（{number}，待寄回，糖果家居 candy）金额 ¥128.00，"
            f"请在 2026-03-09 18:00 前寄回：{RETURN_ADDRESS}",
        ),
        (
            "en",
            "Hello 林小美, order TB20260301001 ({number}, Awaiting return, 糖果家居 candy) amount ¥128.00; "
            f"please send it by 2026-03-09 18:00 to: {RETURN_ADDRESS}",
        ),
    ],
)
def test_a_reply_is_rendered_in_the_buyers_language_with_every_variable(language, expected):
    shop = shop_with_address(language=language)
    made = _return_for(shop)
    canned = reply("寄回地址", zh=EVERY_VARIABLE_ZH, en=EVERY_VARIABLE_EN)
    with translation.override("en" if language == "zh-hans" else "zh-hans"):  # whatever the agent's language
        text = reply_render(reply=canned, ticket=made)
    assert text == expected.format(number=made.number)


def test_the_amount_is_the_orders_when_the_ticket_names_none_and_chinese_is_the_fallback():
    shop = shop_with_address(language="en")
    order = order_with_line(shop=shop, paid_amount=Decimal("99.50"))
    complaint = ticket("complaint", order=order)
    canned = reply("金额", zh="订单金额 {{ amount }}")  # no English text: the Chinese one is sent
    assert reply_render(reply=canned, ticket=complaint) == "订单金额 ¥99.50"


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("您好 {{ buyer.nmae }}", "buyer.nmae"),
        ("{{ refund_amount }} 元", "refund_amount"),
        ("{% load static %}{{ amount }}", "load"),
        ("{% include 'x.html' %}", "include"),
        ("{% if amount %}未闭合", "if"),
    ],
)
def test_a_bad_body_is_refused_naming_the_problem(source, named):
    problem = template_problem(source)
    assert problem is not None and named in problem


def test_every_variable_and_the_allowed_tags_pass():
    assert template_problem(EVERY_VARIABLE_ZH) is None
    assert template_problem("{% if return_address %}{{ return_address }}{% else %}稍后告知{% endif %}") is None


def test_the_admin_refuses_an_unknown_variable_on_save_in_the_supervisors_language(supervisor):
    client = logged_in(supervisor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    response = client.post(
        reverse("admin:replies_cannedreply_add"),
        {
            "title": "催寄回",
            "keywords": "寄回",
            "active": "on",
            "texts-TOTAL_FORMS": "1",
            "texts-INITIAL_FORMS": "0",
            "texts-MIN_NUM_FORMS": "1",
            "texts-MAX_NUM_FORMS": "2",
            "texts-0-language": "zh-hans",
            "texts-0-body": "{{ buyer.name }}您好，请在 {{ dead_line }} 前寄回",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not CannedReply.objects.exists()
    page = response.content.decode()
    assert "未知变量 dead_line" in page
    assert "{{ deadline }}" in page  # and what may be used instead


def test_the_admin_saves_a_good_reply(supervisor):
    client = logged_in(supervisor)
    response = client.post(
        reverse("admin:replies_cannedreply_add"),
        {
            "title": "Ask for tracking",
            "keywords": "tracking 单号",
            "active": "on",
            "texts-TOTAL_FORMS": "2",
            "texts-INITIAL_FORMS": "0",
            "texts-MIN_NUM_FORMS": "1",
            "texts-MAX_NUM_FORMS": "2",
            "texts-0-language": "zh-hans",
            "texts-0-body": "请提供退货物流单号，订单 {{ order.number }}",
            "texts-1-language": "en",
            "texts-1-body": "Please send the tracking number for order {{ order.number }}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = CannedReply.objects.get()
    assert sorted(saved.texts.values_list("language", flat=True)) == ["en", "zh-hans"]


def test_deadline_is_blank_when_the_ticket_has_no_clock():
    shop = shop_with_address()
    made = _return_for(shop)
    Ticket.objects.filter(pk=made.pk).update(due_at=None)
    made.refresh_from_db()
    canned = reply("截止", zh="截止：{{ deadline }}。")
    assert reply_render(reply=canned, ticket=made) == "截止：。"
