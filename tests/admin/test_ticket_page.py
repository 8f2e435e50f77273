"""The ticket page: its buttons run the services (the timeline shows it), a stale page is refused with a
clear message, claim / reassign / comments work, and it shows evidence, the order and notifications.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from api.actions import available_actions
from notifications.models import Notification
from orders.models import Shipment
from tests.admin.conftest import action_url, desk_user, logged_in, messages_of, page_url, ticket
from tests.factories.tickets import ticket_reload
from tickets import services
from tickets.actors import Actor
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def run(client, t, name: str, **fields):
    """Press the page's button for ``name`` with the version the page was rendered with."""
    version = client.get(page_url(t)).context["ticket"].version
    data = {f"{name}-version": version, **{f"{name}-{key}": value for key, value in fields.items()}}
    return client.post(action_url(t, name), data, follow=True)


def last_transition(t) -> TicketEvent:
    return TicketEvent.objects.filter(ticket_id=t.pk, event_type="transition").latest("created_at", "pk")


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        ("return", "requested"),
        ("return", "arbitration"),
        ("exchange", "received"),
        ("complaint", "investigating"),
        ("logistics", "investigating"),
        ("return", "refunded"),
    ],
)
def test_the_page_offers_a_button_for_each_transition_the_supervisor_may_run_now(sup_client, supervisor, kind, state):
    t = ticket(kind, state)

    response = sup_client.get(page_url(t))

    assert response.status_code == 200
    shown = [b["name"] for b in response.context["transition_buttons"]]
    assert shown == [a["name"] for a in available_actions(ticket_reload(t), Actor.staff(supervisor))]
    page = response.content.decode()
    for name in shown:
        assert f'action="{action_url(t, name)}"' in page
    assert 'name="_save"' not in page and 'name="state"' not in page
    if state == "refunded":
        assert shown == [] and "Nothing for you to do on this ticket now" in page


def test_operations_sees_only_its_own_transitions(ops_client):
    t = ticket("return", "requested")

    response = ops_client.get(page_url(t))

    assert [b["name"] for b in response.context["transition_buttons"]] == ["approve", "counter_offer", "reject"]


def test_approve_button_runs_the_service_and_the_timeline_shows_it(ops_client):
    t = ticket("return", "requested")

    response = run(ops_client, t, "approve", reason="同意，请寄回")

    assert ticket_reload(t).state == "awaiting_return"
    event = last_transition(t)
    assert (event.transition, event.actor_name, event.reason) == ("approve", "ops-alice", "同意，请寄回")
    assert f"Approve: ticket {t.number} is now Awaiting return." in messages_of(response)
    # It now waits on the buyer, so it left operations' queue: the user is back on the list.
    assert response.redirect_chain[-1][0] == reverse("admin:tickets_ticket_changelist")


def test_the_timeline_shows_who_did_what_from_which_state_to_which(sup_client):
    t = ticket("return", "requested")

    response = run(sup_client, t, "approve", reason="同意，请寄回")

    assert response.redirect_chain[-1][0] == page_url(t)  # supervisors see every ticket
    row = response.context["thread"][0]  # newest first
    assert (row.change, row.title, row.actor) == ("Requested → Awaiting return", "Approve", "sup-dave")
    page = response.content.decode()
    assert "Requested → Awaiting return" in page and "同意，请寄回" in page and "sup-dave" in page
    assert "awaiting_return" not in page.replace('data-state="awaiting_return"', "")  # labels, not codes


def test_a_required_field_left_empty_is_a_message_and_nothing_changes(ops_client):
    t = ticket("return", "requested")

    response = run(ops_client, t, "reject", reason="")

    assert ticket_reload(t).state == "requested"
    assert response.status_code == 200
    assert any(m.startswith("Reject:") and "This field is required" in m for m in messages_of(response))


def test_reject_with_a_reason(ops_client):
    t = ticket("return", "requested")

    run(ops_client, t, "reject", reason="已拆封使用")

    assert ticket_reload(t).state == "rejected"
    assert last_transition(t).reason == "已拆封使用"


def test_ship_back_records_carrier_and_tracking_number(sup_client):
    # Waiting on the buyer, so in no department's queue: a supervisor enters the buyer's tracking number.
    t = ticket("return", "awaiting_return")

    run(sup_client, t, "ship_back", carrier="SF", tracking_number="SF1234567890")

    t = ticket_reload(t)
    assert t.state == "return_in_transit"
    assert (t.return_shipment.carrier, t.return_shipment.tracking_number) == ("SF", "SF1234567890")


def test_partial_refund_takes_an_amount_and_a_reason(wh_client):
    t = ticket("return", "received")

    bad = run(wh_client, t, "pass_inspection_partly", amount="99999.00", reason="划痕")
    assert ticket_reload(t).state == "received"
    assert any("refused" in m and "partial refund must be" in m for m in messages_of(bad))

    run(wh_client, t, "pass_inspection_partly", amount="30.00", reason="划痕")
    t = ticket_reload(t)
    assert (t.state, str(t.approved_amount)) == ("refund_pending", "30.00")


def test_complaint_resolution_and_logistics_claim_number_and_compensation(ops_client):
    complaint = ticket("complaint", "investigating")
    run(ops_client, complaint, "propose_resolution", resolution="补偿 20 元优惠券")
    complaint = ticket_reload(complaint)
    assert (complaint.state, complaint.resolution) == ("resolution_proposed", "补偿 20 元优惠券")

    lg = logged_in(desk_user("logistics"))
    case = ticket("logistics", "reported")
    run(lg, case, "investigate", carrier_claim_number="SF-CLAIM-9")
    run(lg, case, "compensate", amount="25.50", reason="外箱破损")
    case = ticket_reload(case)
    assert (case.state, case.carrier_claim_number, str(case.compensation_amount)) == (
        "compensating",
        "SF-CLAIM-9",
        "25.50",
    )


def test_a_stale_page_gets_a_conflict_message_and_changes_nothing(ops_client):
    t = ticket("return", "requested")
    rendered_version = ops_client.get(page_url(t)).context["ticket"].version
    # Meanwhile a colleague claims it (the ticket stays in operations' queue, one version on).
    colleague = desk_user("operations", username="ops-zoe")
    services.ticket_assign(ticket=ticket_reload(t), actor=Actor.staff(colleague), assignee=colleague)

    response = ops_client.post(
        action_url(t, "reject"), {"reject-version": rendered_version, "reject-reason": "不符合"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == page_url(t)
    assert ticket_reload(t).state == "requested"
    [message] = messages_of(response)
    assert message.startswith("Reject refused:") and "was changed by someone else" in message
    assert response.context["ticket"].version == rendered_version + 1  # the page shows the current copy


def test_a_ticket_handed_on_meanwhile_is_no_longer_in_the_queue(ops_client):
    t = ticket("return", "requested")
    version = ops_client.get(page_url(t)).context["ticket"].version
    services.ticket_act(ticket=ticket_reload(t), actor=Actor.staff(desk_user("operations")), action="approve")

    response = ops_client.post(action_url(t, "reject"), {"reject-version": version, "reject-reason": "x"}, follow=True)

    assert ticket_reload(t).state == "awaiting_return"
    assert messages_of(response) == [f"Ticket {t.number} is not in your department's queue, so you cannot open it."]


def test_a_transition_the_user_may_not_run_is_refused_with_a_message(ops_client):
    t = ticket("return", "requested")

    response = run(ops_client, t, "uphold_buyer")

    assert ticket_reload(t).state == "requested"
    assert any("refused" in m for m in messages_of(response))


def test_an_unknown_action_name_is_a_message(ops_client):
    t = ticket("return", "requested")

    response = ops_client.post(action_url(t, "explode"), {"explode-version": 0}, follow=True)

    assert messages_of(response) == ["'explode' is not an action of this ticket."]


def test_a_get_on_a_button_url_changes_nothing(ops_client):
    t = ticket("return", "requested")

    assert ops_client.get(action_url(t, "approve")).status_code == 405
    assert ticket_reload(t).state == "requested"


def test_claim_takes_an_unassigned_ticket_of_my_queue(ops_client, ops_user):
    t = ticket("return", "requested")
    assert t.assignee is None
    page = ops_client.get(page_url(t))
    assert page.context["can_claim"]

    response = ops_client.post(
        reverse("admin:tickets_ticket_claim", args=[t.pk]), {"version": page.context["ticket"].version}, follow=True
    )

    assert ticket_reload(t).assignee == ops_user
    assert f"Ticket {t.number} is now assigned to you." in messages_of(response)
    assert TicketEvent.objects.filter(ticket_id=t.pk, event_type="assignment", actor_name="ops-alice").exists()


def test_claiming_a_ticket_someone_claimed_meanwhile_is_refused(ops_client):
    t = ticket("return", "requested")
    version = ops_client.get(page_url(t)).context["ticket"].version
    other = desk_user("operations", username="ops-zoe")
    services.ticket_assign(ticket=ticket_reload(t), actor=Actor.staff(other), assignee=other)

    response = ops_client.post(reverse("admin:tickets_ticket_claim", args=[t.pk]), {"version": version}, follow=True)

    assert ticket_reload(t).assignee == other
    assert messages_of(response) == [f"Claim refused: Ticket {t.number} was already claimed by ops-zoe."]


def test_supervisors_reassign_and_others_may_not(sup_client, ops_client, ops_user):
    t = ticket("return", "requested")
    url = reverse("admin:tickets_ticket_reassign", args=[t.pk])

    assert ops_client.post(url, {"version": 0, "assignee": ops_user.pk}).status_code == 403
    assert "kefu-reassign" not in ops_client.get(page_url(t)).content.decode()

    response = sup_client.post(url, {"version": 0, "assignee": ops_user.pk}, follow=True)
    assert ticket_reload(t).assignee == ops_user
    assert f"Ticket {t.number} is now assigned to ops-alice." in messages_of(response)

    response = sup_client.post(url, {"version": 1, "assignee": ""}, follow=True)
    assert ticket_reload(t).assignee is None
    assert f"Ticket {t.number} is back in its department's queue." in messages_of(response)


def test_reassigning_to_someone_outside_the_department_is_refused(sup_client, wh_user):
    t = ticket("return", "requested")

    response = sup_client.post(
        reverse("admin:tickets_ticket_reassign", args=[t.pk]), {"version": 0, "assignee": wh_user.pk}, follow=True
    )

    assert ticket_reload(t).assignee is None
    assert messages_of(response) == ["Reassign refused: wh-bob is not a member of the operations department."]


def test_comments_internal_and_public(ops_client):
    t = ticket("return", "requested")
    url = reverse("admin:tickets_ticket_comment", args=[t.pk])

    internal = ops_client.post(url, {"body": "已联系仓库核实"}, follow=True)
    public = ops_client.post(url, {"body": "您好，已收到您的申请", "public": "on"}, follow=True)
    empty = ops_client.post(url, {"body": "   "}, follow=True)

    comments = TicketEvent.objects.filter(ticket_id=t.pk, event_type="comment").order_by("pk")
    assert [(c.reason, c.public) for c in comments] == [("已联系仓库核实", False), ("您好，已收到您的申请", True)]
    assert "Internal note added (staff only)." in messages_of(internal)
    assert "Comment added; the buyer can see it." in messages_of(public)
    assert any(m.startswith("Comment:") for m in messages_of(empty))
    page = public.content.decode()
    assert page.count(" kefu-internal-row kefu-entry--comment") == 1 and "已联系仓库核实" in page


def test_the_page_shows_evidence_previews_the_order_and_notifications(sup_client):
    t = ticket("return", "requested")
    services.ticket_evidence_attach(
        ticket=t,
        actor=Actor.for_buyer(t.buyer),
        file=ContentFile(PNG, name="x.png"),
        original_name="破损.png",
        content_type="image/png",
    )
    Notification.objects.create(
        ticket_id=t.pk,
        event="state_changed",
        channel="sms",
        audience="buyer",
        recipient="13800001111",
        language="zh-hans",
        body="您的退货申请已通过",
        dedup_key="n-1",
        status="dead",
        attempts=8,
        last_error="HTTP 502",
    )
    line = t.order.lines.get()
    Shipment.objects.create(order=t.order, carrier="SF", tracking_number="SF000111222")

    page = sup_client.get(page_url(t)).content.decode()

    attachment = t.attachments.get()
    view = reverse("admin:tickets_ticket_evidence", args=[t.pk, attachment.pk])  # never a MEDIA URL
    assert f'<img src="{view}"' in page and "破损.png" in page and attachment.file.name not in page
    assert line.sku in page and line.name in page and "SF000111222" in page
    # The buyer's number is masked in the notifications list, whoever looks (tickets.privacy).
    assert "138****1111" in page and "13800001111" not in page and "HTTP 502" in page and "Dead-lettered" in page


def test_the_page_costs_the_same_queries_however_long_the_history(sup_client, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    t = ticket("complaint", "open")
    with CaptureQueriesContext(connection) as short:
        assert sup_client.get(page_url(t)).status_code == 200
    actor = Actor.staff(desk_user("operations"))
    for n in range(15):
        services.ticket_comment_add(ticket=t, actor=actor, body=f"note {n}", public=bool(n % 2))
    with CaptureQueriesContext(connection) as long:
        response = sup_client.get(page_url(t))
    assert len(long) == len(short)
    assert response.content.decode().count("note ") >= 15
