"""Macros: one click sends the reply (the buyer is notified), writes the note, sets the priority and runs the
transition, all or nothing; only the macros whose transition applies now are offered, and one that no longer
applies is refused with a message, writing nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kefu.core.errors import DomainError
from kefu.core.vocabulary import Priority
from notifications.models import Audience, Notification
from notifications.rendering import local_time
from replies.selectors import macros_for
from replies.services import macro_apply
from tests.admin.conftest import logged_in, messages_of, page_url, ticket
from tests.factories.tickets import order_with_line, ticket_reload
from tests.replies.conftest import RETURN_ADDRESS, macro, reply, shop_with_address
from tickets import services
from tickets.actors import Actor
from tickets.errors import TicketChanged, TransitionNotAllowed
from tickets.models import EventType, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def approve_and_send_address():
    address = reply(
        "退货地址",
        zh="{{ buyer.name }}您好，退货已同意，请在 {{ deadline }} 前寄回：{{ return_address }}，寄出后请提供物流单号。",
        en="Hello {{ buyer.name }}, your return is approved. Please send it to: {{ return_address }}.",
        keywords="退货 地址",
    )
    return macro(
        "同意退货并发送地址",
        reply=address,
        note="已发退货地址，等待买家寄回",
        priority=Priority.HIGH,
        kind="return",
        action="approve",
        inputs={"reason": "质量问题，同意退货"},
    )


@pytest.fixture
def requested_return():
    return ticket("return", "requested", order=order_with_line(shop=shop_with_address()))


def events(t, event_type):
    return list(TicketEvent.objects.filter(ticket_id=t.pk, event_type=event_type).order_by("pk"))


def test_one_click_replies_notes_sets_priority_and_approves(requested_return, approve_and_send_address, ops_user):
    client = logged_in(ops_user)
    page = client.get(page_url(requested_return)).content.decode()
    assert 'data-shortcut="m"' in page and "同意退货并发送地址" in page
    response = client.post(
        reverse("admin:tickets_ticket_macro", args=[requested_return.pk]),
        {"macro": approve_and_send_address.pk, "version": requested_return.version},
        follow=True,
    )
    assert any("同意退货并发送地址" in m and "applied" in m for m in messages_of(response)), messages_of(response)
    after = ticket_reload(requested_return)
    assert after.state == "awaiting_return"
    assert after.priority == Priority.HIGH
    public, note, priority = events(after, EventType.COMMENT)
    assert public.public and RETURN_ADDRESS in public.reason and public.reason.startswith(after.buyer.name)
    # Rendered after the transition: the deadline is the buyer's, to send the parcel back (awaiting_return's).
    assert f"请在 {local_time(after.due_at)} 前寄回" in public.reason
    assert not note.public and note.reason == "已发退货地址，等待买家寄回"
    assert not priority.public and priority.payload["reason_code"] == "priority_changed"
    (transition,) = events(after, EventType.TRANSITION)
    assert transition.transition == "approve" and transition.reason == "质量问题，同意退货"
    # The buyer is told both: the reply (in the shop's language) and the new state.
    told = Notification.objects.filter(ticket_id=after.pk, audience=Audience.BUYER)
    assert sorted(told.exclude(event="ticket_created").values_list("event", flat=True)) == [
        "public_comment",
        "state_changed",
    ]
    assert RETURN_ADDRESS in told.get(event="public_comment").body


def test_a_macro_is_not_offered_when_its_transition_does_not_apply(approve_and_send_address, supervisor):
    waiting = ticket("return", "awaiting_return", order=order_with_line(shop=shop_with_address()))
    actor = Actor.staff(supervisor)
    reply_only = macro("催促寄回", reply=approve_and_send_address.reply)  # no transition: fits any ticket
    assert macros_for(ticket=waiting, actor=actor) == [reply_only]
    page = logged_in(supervisor).get(page_url(waiting)).content.decode()
    assert "催促寄回" in page and "同意退货并发送地址" not in page


def test_a_macro_that_no_longer_applies_is_refused_and_writes_nothing(
    requested_return, approve_and_send_address, ops_user, supervisor
):
    client = logged_in(supervisor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    services.ticket_act(ticket=requested_return, actor=Actor.staff(ops_user), action="reject", reason="不符合条件")
    before = TicketEvent.objects.filter(ticket_id=requested_return.pk).count()
    response = client.post(
        reverse("admin:tickets_ticket_macro", args=[requested_return.pk]),
        {"macro": approve_and_send_address.pk, "version": ticket_reload(requested_return).version},
        follow=True,
    )
    assert any("现在不适用于工单" in m for m in messages_of(response)), messages_of(response)
    assert TicketEvent.objects.filter(ticket_id=requested_return.pk).count() == before
    assert ticket_reload(requested_return).state == "rejected"


def test_a_failing_transition_leaves_no_comment_and_no_message(requested_return, approve_and_send_address, ops_user):
    stale = ticket_reload(requested_return)  # the page the agent is looking at
    services.ticket_comment_add(ticket=requested_return, actor=Actor.staff(ops_user), body="x", public=False)
    services.ticket_assign(ticket=requested_return, actor=Actor.system("test"), assignee=ops_user)  # version + 1
    comments = len(events(requested_return, EventType.COMMENT))
    messages = Notification.objects.filter(ticket_id=requested_return.pk).count()
    with pytest.raises(TicketChanged):
        macro_apply(macro=approve_and_send_address, ticket=stale, actor=Actor.staff(ops_user))
    after = ticket_reload(requested_return)
    assert after.state == "requested" and after.priority == Priority.NORMAL
    assert len(events(after, EventType.COMMENT)) == comments  # the reply and the note were rolled back
    assert Notification.objects.filter(ticket_id=after.pk).count() == messages  # and nobody was told


def test_a_reply_refused_after_the_transition_rolls_the_transition_back(requested_return, ops_user):
    too_long = reply("太长", zh="很抱歉" * 2000)  # over a comment's 5,000 characters: refused by ticket_comment_add
    approve = macro("同意（回复太长）", reply=too_long, kind="return", action="approve", priority=Priority.HIGH)
    with pytest.raises(DomainError):
        macro_apply(macro=approve, ticket=requested_return, actor=Actor.staff(ops_user))
    after = ticket_reload(requested_return)
    assert (after.state, after.version, after.priority) == ("requested", requested_return.version, Priority.NORMAL)
    assert events(after, EventType.TRANSITION) == [] and events(after, EventType.COMMENT) == []
    assert not Notification.objects.filter(ticket_id=after.pk, event="state_changed").exists()


def test_a_transition_refused_by_its_own_rules_rolls_the_reply_back_too(requested_return, ops_user):
    # reject needs a reason: a macro saved without one (a bypassed form) fails inside the transaction.
    broken = macro("拒绝", reply=reply("拒绝说明", zh="很抱歉"), kind="return", action="reject", inputs={})
    with pytest.raises(DomainError):
        macro_apply(macro=broken, ticket=requested_return, actor=Actor.staff(ops_user))
    assert events(requested_return, EventType.COMMENT) == []


def test_another_shops_macro_is_refused(requested_return, ops_user):
    other = macro("别家的宏", shop=shop_with_address("other"), note="x")
    with pytest.raises(TransitionNotAllowed):
        macro_apply(macro=other, ticket=requested_return, actor=Actor.staff(ops_user))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"kind": "return", "action": "fly", "inputs": "{}"}, "fly"),
        ({"kind": "return", "action": "fly", "inputs": "{}"}, "approve, "),  # and what it may be
        ({"kind": "return", "action": "auto_refund", "inputs": "{}"}, "auto_refund"),  # the system's own
        ({"kind": "", "action": "approve", "inputs": "{}"}, "kind"),
        ({"kind": "return", "action": "reject", "inputs": "{}"}, "Reason"),  # a required input missing
        ({"kind": "return", "action": "approve", "inputs": '{"colour": "red"}'}, "colour"),
        ({"kind": "", "action": "", "inputs": "{}", "note": "{{ buyer.nmae }}"}, "buyer.nmae"),
    ],
)
def test_the_admin_refuses_a_macro_that_could_not_run(supervisor, fields, error):
    from replies.models import Macro

    data = {"title": "t", "active": "on", "note": "", "priority": "", **fields}
    response = logged_in(supervisor).post(reverse("admin:replies_macro_add"), data)
    assert response.status_code == 200
    assert not Macro.objects.exists()
    assert error in response.content.decode()


def test_the_priority_change_reads_in_each_readers_language(requested_return, ops_user):
    from django.utils import translation

    from tickets.wording import event_reason

    bump = macro("加急", note="", priority=Priority.URGENT)
    macro_apply(macro=bump, ticket=requested_return, actor=Actor.staff(ops_user))
    (entry,) = events(requested_return, EventType.COMMENT)
    assert event_reason(entry) == "Priority changed from Normal to Urgent."
    with translation.override("zh-hans"):
        assert event_reason(entry) == "优先级由普通改为紧急。"
    assert not Notification.objects.filter(ticket_id=requested_return.pk, event="public_comment").exists()


@pytest.mark.parametrize(("chosen", "said"), [("999999", "That macro does not exist."), ("abc", "whole number")])
def test_an_unknown_macro_is_a_message_not_an_error_page(requested_return, ops_user, chosen, said):
    response = logged_in(ops_user).post(
        reverse("admin:tickets_ticket_macro", args=[requested_return.pk]),
        {"macro": chosen, "version": requested_return.version},
        follow=True,
    )
    assert response.status_code == 200
    assert any(said in m for m in messages_of(response)), messages_of(response)
