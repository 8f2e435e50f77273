"""The reply picker's endpoint: the replies of the ticket's shop (or every shop) and of the agent's departments
(or every department), matching what was typed, each rendered for the ticket; the same few queries however many
replies match."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.admin.conftest import logged_in, ticket
from tests.factories.tickets import order_with_line
from tests.replies.conftest import RETURN_ADDRESS, reply, shop_with_address

pytestmark = pytest.mark.django_db


def search(client, t, q=""):
    response = client.get(reverse("admin:tickets_ticket_replies", args=[t.pk]), {"q": q})
    return response


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return sorted(r["title"] for r in response.json()["results"])


@pytest.fixture
def scoped():
    shop, other = shop_with_address("candy"), shop_with_address("other")
    t = ticket("return", "requested", order=order_with_line(shop=shop))  # operations' queue
    reply("通用问候", zh="您好 {{ buyer.name }}")
    reply("本店退货地址", zh="请寄回：{{ return_address }}", keywords="退货 地址", shop=shop)
    reply("别家退货地址", zh="别家地址", keywords="退货 地址", shop=other)
    reply("运营：审核中", zh="您的申请 {{ ticket.number }} 正在审核", department="operations")
    reply("仓库：已签收", zh="仓库已签收您的退货", keywords="退货", department="warehouse")
    return t


def test_an_agent_gets_their_shops_and_departments_replies_only(scoped, ops_user):
    found = titles(search(logged_in(ops_user), scoped))
    assert found == sorted(["通用问候", "本店退货地址", "运营：审核中"])


def test_a_supervisor_gets_every_departments_replies_of_the_tickets_shop(scoped, supervisor):
    found = titles(search(logged_in(supervisor), scoped))
    assert found == sorted(["通用问候", "本店退货地址", "运营：审核中", "仓库：已签收"])


def test_an_agent_who_cannot_see_the_ticket_gets_nothing(scoped, wh_user):
    assert search(logged_in(wh_user), scoped).status_code == 404


def test_typing_a_keyword_finds_by_keyword_title_or_body_rendered_for_the_ticket(scoped, ops_user):
    client = logged_in(ops_user)
    results = search(client, scoped, "退货").json()["results"]
    assert [r["title"] for r in results] == ["本店退货地址"]  # the other shop's and the warehouse's are not offered
    assert results[0]["body"] == f"请寄回：{RETURN_ADDRESS}"
    assert titles(search(client, scoped, "审核")) == ["运营：审核中"]  # by title
    assert titles(search(client, scoped, "正在")) == ["运营：审核中"]  # by body
    assert search(client, scoped, "正在").json()["results"][0]["body"] == f"您的申请 {scoped.number} 正在审核"
    assert titles(search(client, scoped, "nothing-like-this")) == []


def test_the_search_costs_the_same_queries_for_two_or_ten_replies(ops_user, django_assert_max_num_queries):
    shop = shop_with_address()
    t = ticket("return", "requested", order=order_with_line(shop=shop))
    client = logged_in(ops_user)
    for n in range(2):
        reply(f"退货 {n}", zh="{{ buyer.name }} {{ amount }} {{ return_address }}", en="{{ order.number }}")
    with CaptureQueriesContext(connection) as two:
        assert len(search(client, t, "退货").json()["results"]) == 2
    for n in range(2, 10):
        reply(f"退货 {n}", zh="{{ buyer.name }} {{ amount }} {{ return_address }}", en="{{ order.number }}")
    with django_assert_max_num_queries(len(two.captured_queries)):
        assert len(search(client, t, "退货").json()["results"]) == 10
    # Session, user, permissions (2), the user's departments (2), the ticket (in scope, then as its kind), the
    # replies and their texts.
    assert len(two.captured_queries) <= 10


def test_staff_without_the_act_permission_may_not_search(scoped, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    assert search(logged_in(viewer), scoped).status_code in (302, 403)
