"""The compact ticket page as an agent reads it: labels in the reader's language (no state codes, operation names
or "∅"), only the actions that apply, the buyer panel, evidence attached by staff, and a number of queries that
does not grow with the history."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from kefu.core.vocabulary import ReturnState, state_label
from risk.models import RiskPolicy
from risk.services.profiles import buyer_profile_refresh
from tests.admin.conftest import desk_user, logged_in, messages_of, page_url, ticket
from tests.factories.tickets import ticket_reload
from tests.risk.history import past_ticket, refund_of, shop_and_buyer
from tickets import services
from tickets.actions import action_get, actions_of
from tickets.actors import Actor, ActorKind
from tickets.models import Attachment, EventType, Ticket, TicketEvent
from tickets.services.assignment import ticket_claim, ticket_reassign

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


class _Text(HTMLParser):
    """The text a reader can see or unfold: everything but tags, attributes, scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self._skip += tag in ("script", "style", "svg")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style", "svg")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def a_busy_return(supervisor, ops_user):
    """A return that was claimed, put back in the queue, commented on and approved."""
    t = ticket("return", "requested", description="鞋底开胶")
    ops = Actor.staff(ops_user)
    t = ticket_claim(ticket=t, actor=ops)
    t = ticket_reassign(ticket=ticket_reload(t), actor=Actor.staff(supervisor), assignee=None)
    services.ticket_comment_add(ticket=t, actor=Actor.for_buyer(t.buyer), body="好的，我明天寄回")
    services.ticket_comment_add(ticket=t, actor=ops, body="已联系仓库", public=False)
    services.ticket_act(ticket=ticket_reload(t), actor=ops, action="approve", reason="同意退货")
    return ticket_reload(t)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_no_raw_code_is_shown_only_labels(supervisor, ops_user, language) -> None:
    t = a_busy_return(supervisor, ops_user)
    client = logged_in(supervisor)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language

    response = client.get(page_url(t))
    text = visible_text(response.content.decode())

    events = set(TicketEvent.objects.filter(ticket_id=t.pk).values_list("event_type", flat=True))
    assert {EventType.TRANSITION, EventType.ASSIGNMENT, EventType.COMMENT} <= events
    codes = {*ReturnState.values, *(a.name for a in actions_of("return")), *EventType.values, *ActorKind.values}
    if language == "en":  # "buyer", "comment", "refund": English words too; the codes with "_" are not
        codes = {code for code in codes if "_" in code}
    shown = {code for code in codes if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text)}
    assert shown == set()
    assert "∅" not in text
    entries = response.context["thread"]
    with translation.override(language):
        expected = f"{state_label('return', 'requested')} → {state_label('return', 'awaiting_return')}"
    assert (entries[0].change, entries[0].title) == (expected, str(action_get("return", "approve").label))
    assert expected in text
    if language == "zh-hans":
        assert "同意退货" in text and "好的，我明天寄回" in text and "已联系仓库" in text


def test_the_thread_is_newest_first_and_folds_long_entries(ops_client, ops_user) -> None:
    t = ticket("complaint", "open")
    actor = Actor.staff(ops_user)
    services.ticket_comment_add(ticket=t, actor=actor, body="第一条")
    services.ticket_comment_add(ticket=t, actor=actor, body="很长的说明。" * 60)

    response = ops_client.get(page_url(t))

    thread = response.context["thread"]
    assert [e.title for e in thread][:3] == ["Comment", "Comment", "Ticket opened"]
    assert thread[0].folded and not thread[1].folded and thread[1].text == "第一条"
    page = response.content.decode()
    assert '<details class="kefu-fold"><summary>很长的说明。' in page


def shortcuts(page: str) -> dict[str, str]:
    """data-shortcut key -> the tag it is on."""
    return {key: tag for tag, key in re.findall(r"<(\w+)[^>]*?data-shortcut=\"(\w)\"", page)}


def test_claim_is_offered_only_on_an_unassigned_ticket_of_my_queue(ops_client, ops_user) -> None:
    unassigned = ticket("return", "requested")
    someone = desk_user("operations", username="ops-zoe")
    theirs = ticket("return", "requested")
    mine = ticket("return", "requested")
    Ticket.objects.filter(pk=theirs.pk).update(assignee=someone)
    Ticket.objects.filter(pk=mine.pk).update(assignee=ops_user)

    page = ops_client.get(page_url(unassigned))
    assert page.context["can_claim"] and 'id="kefu-claim"' in page.content.decode()
    # q and m: the canned replies' search and the macro menu (desk.admin.replies), when the ticket has them.
    assert shortcuts(page.content.decode()).items() >= {"c": "button", "t": "summary", "r": "textarea"}.items()
    for assigned in (theirs, mine):
        response = ops_client.get(page_url(assigned))
        html = response.content.decode()
        assert not response.context["can_claim"] and "kefu-claim" not in html and 'data-shortcut="c"' not in html


def test_reassign_only_for_supervisors_and_nothing_for_viewers(sup_client, ops_client) -> None:
    t = ticket("return", "requested")
    assert 'id="kefu-reassign"' in sup_client.get(page_url(t)).content.decode()
    assert 'id="kefu-reassign"' not in ops_client.get(page_url(t)).content.decode()

    viewer = desk_user("operations", username="ops-viewer")
    viewer.groups.clear()
    viewer.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    response = logged_in(viewer).get(page_url(t))
    html = response.content.decode()
    assert response.status_code == 200
    assert "You may look at this ticket but not act on it." in html
    assert "kefu-claim" not in html and "kefu-comment" not in html and "kefu-attach" not in html


def test_an_action_without_inputs_is_one_button_with_the_transition_shortcut(wh_client) -> None:
    t = ticket("return", "return_in_transit")

    html = wh_client.get(page_url(t)).content.decode()

    button = re.search(r'<button [^>]*value="receive"[^>]*>', html)
    assert button and 'data-shortcut="t"' in button.group(0)
    assert 'data-shortcut-label="Do “Mark parcel received”"' in button.group(0)


def test_the_buyer_panel_shows_the_order_earlier_tickets_totals_and_flags(sup_client) -> None:
    shop, buyer = shop_and_buyer(name="林小美")
    RiskPolicy.objects.create(shop=shop, serial_returns_30d=2)
    refunded = past_ticket(buyer, days=20, state="refunded")
    refund_of(refunded, "60.00")
    refunded.order.lines.update(refunded_amount=Decimal("60.00"))
    rejected = past_ticket(buyer, days=10, state="rejected")
    current = past_ticket(buyer, days=0, state="requested")
    buyer_profile_refresh(buyer_id=buyer.pk)
    other = ticket("return", "requested")  # another buyer's

    response = sup_client.get(page_url(current))

    panel = response.context["buyer_panel"]
    assert [(e.number, e.outcome, e.refunded) for e in panel.earlier] == [
        (rejected.number, "Rejected", Decimal("0.00")),
        (refunded.number, "Refunded", Decimal("60.00")),
    ]
    assert (panel.orders, panel.tickets, panel.refunded) == (3, 3, Decimal("60.00"))
    assert [f.code for f in panel.flags] == ["serial_returner"]
    html = response.content.decode()
    box = html[html.index('id="kefu-buyer"') :]
    assert "3 orders" in box and "3 tickets" in box and "¥60.00 refunded" in box
    assert 'data-flag="serial_returner"' in box
    line = current.order.lines.get()
    assert f'data-sku="{line.sku}"' in box and "2 in this ticket" in box  # the order's line, marked
    # One click to the buyer's whole history: the list of their tickets, and nobody else's.
    history = sup_client.get(panel.history_url)
    assert history.status_code == 200
    shown = {t.number for t in history.context["cl"].result_list}
    assert shown == {refunded.number, rejected.number, current.number} and other.number not in shown


def test_an_agent_reads_the_whole_history_of_a_buyer_whose_ticket_they_work(ops_client) -> None:
    """The panel lists the buyer's ended tickets, which left operations' queue; its "full history" lists them too
    for the agent working the buyer's open ticket, and for nobody else's buyer."""
    shop, buyer = shop_and_buyer(name="张伟")
    refunded = past_ticket(buyer, days=20, state="refunded")
    current = past_ticket(buyer, days=0, state="requested")
    stranger = past_ticket(shop_and_buyer(name="王芳")[1], days=5, state="refunded")
    url = reverse("admin:tickets_ticket_changelist")

    page = ops_client.get(page_url(current))
    history = ops_client.get(page.context["buyer_panel"].history_url)

    assert {t.number for t in history.context["cl"].result_list} == {refunded.number, current.number}
    # A buyer none of whose tickets the agent works: the list stays within the agent's scope (empty).
    assert not list(ops_client.get(url, {"buyer__id__exact": stranger.buyer_id}).context["cl"].result_list)


def test_staff_attach_evidence_checked_as_the_api_checks_it(ops_client, ops_user) -> None:
    t = ticket("return", "requested")
    url = reverse("admin:tickets_ticket_attach", args=[t.pk])

    done = ops_client.post(url, {"file": SimpleUploadedFile("聊天截图.png", PNG), "public": "on"}, follow=True)
    bad = ops_client.post(url, {"file": SimpleUploadedFile("notes.png", b"hello")}, follow=True)
    none = ops_client.post(url, {}, follow=True)

    [attachment] = Attachment.objects.filter(ticket_id=t.pk)
    assert (attachment.original_name, attachment.actor_name, attachment.public) == ("聊天截图.png", "ops-alice", True)
    assert f"聊天截图.png attached to ticket {t.number}." in messages_of(done)
    assert messages_of(bad) == [
        "Attach evidence refused: Evidence must be a JPEG, PNG or WebP image or an MP4 video "
        "(checked from the content)."
    ]
    assert any(m.startswith("Attach evidence:") for m in messages_of(none))
    entry = done.context["thread"][0]
    assert (entry.title, entry.text) == ("Evidence attached", "聊天截图.png")


def test_the_page_costs_the_same_queries_with_2_or_22_timeline_entries(
    sup_client, ops_user, django_assert_max_num_queries
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    t = ticket("return", "requested")
    with CaptureQueriesContext(connection) as short:
        sup_client.get(page_url(t))
    ops = Actor.staff(ops_user)
    boss = Actor.staff(desk_user("supervisors"))
    for _ in range(9):
        t = ticket_claim(ticket=ticket_reload(t), actor=ops)
        t = ticket_reassign(ticket=ticket_reload(t), actor=boss, assignee=None)
    services.ticket_comment_add(ticket=t, actor=ops, body="note")
    services.ticket_act(ticket=ticket_reload(t), actor=ops, action="approve", reason="同意")
    assert TicketEvent.objects.filter(ticket_id=t.pk).count() >= 20

    with django_assert_max_num_queries(len(short.captured_queries)):
        response = sup_client.get(page_url(t))
    assert len(response.context["thread"]) >= 20
