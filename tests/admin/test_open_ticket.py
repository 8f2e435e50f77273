"""“Open a ticket”: staff find a buyer's order by number, phone or name, and open a ticket of any kind for it through
the opening services, with evidence; every refusal (unknown order, a reason of another kind, a bad file, the
service's own checks) is shown on the form and opens nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.admin.conftest import logged_in, messages_of, page_url
from tests.factories.tickets import order_with_line
from tickets.models import Attachment, ReasonCode, Ticket, TicketEvent

pytestmark = pytest.mark.django_db

URL = reverse("admin:tickets_ticket_open")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def reason(code: str) -> int:
    return ReasonCode.objects.get(code=code).pk


def post(client, order, **fields):
    line = order.lines.get()
    data = {"order": order.pk, "kind": "return", f"line_{line.pk}": line.quantity, **fields}
    return client.post(f"{URL}?order={order.pk}", data, follow=True)


def test_the_queue_links_to_the_page_for_staff_who_may_act(ops_client) -> None:
    page = ops_client.get(reverse("admin:tickets_ticket_changelist")).content.decode()
    assert f'href="{URL}"' in page and "Open a ticket" in page


def test_an_order_is_found_by_the_buyers_phone_number_or_name(ops_client) -> None:
    order = order_with_line(buyer__name="林小美", buyer__phone="13912345678")
    order_with_line()  # someone else's

    for term in ("13912345678", order.number, "林小"):
        found = ops_client.get(URL, {"q": term}).context["found"]
        assert [o.number for o in found] == [order.number], term


def test_staff_open_a_return_by_phone_with_evidence(ops_client, ops_user) -> None:
    order = order_with_line(buyer__phone="13912345678")
    chosen = ops_client.get(URL, {"q": "13912345678", "order": order.pk})
    assert chosen.context["form"] is not None and order.number in chosen.content.decode()

    response = post(
        ops_client,
        order,
        reason=reason("damaged"),
        description="电话：杯子碎了",
        evidence=SimpleUploadedFile("碎片.png", PNG, content_type="image/png"),
    )

    ticket = Ticket.objects.get(order=order)
    assert (ticket.kind, ticket.state, ticket.reason.code, ticket.description) == (
        "return",
        "requested",
        "damaged",
        "电话：杯子碎了",
    )
    created = TicketEvent.objects.get(ticket_id=ticket.pk, event_type="created")
    assert (created.actor_kind, created.actor_name) == ("staff", ops_user.username)
    evidence = Attachment.objects.get(ticket_id=ticket.pk)
    assert (evidence.original_name, evidence.content_type, evidence.actor_kind) == ("碎片.png", "image/png", "staff")
    assert response.redirect_chain[-1][0] == page_url(ticket)
    assert f"Ticket {ticket.number} opened." in messages_of(response)


def test_a_complaint_needs_its_category_and_what_the_buyer_said(ops_client) -> None:
    order = order_with_line()

    refused = post(ops_client, order, kind="complaint")
    assert refused.context["form"].errors == {
        "category": ["Choose the complaint's category."],
        "description": ["Write down what the buyer complains about."],
    }
    post(ops_client, order, kind="complaint", category="service_attitude", description="客服态度差", severity=3)
    assert Ticket.objects.get(order=order).as_kind().category == "service_attitude"


def test_an_unknown_order_is_said_so(ops_client) -> None:
    looked = ops_client.get(URL, {"q": "NO-SUCH-ORDER"})
    assert looked.context["found"] == [] and looked.context["form"] is None
    assert messages_of(looked) == [
        "No order matches “NO-SUCH-ORDER”: try the full order number, the buyer's phone or name."
    ]
    posted = ops_client.post(f"{URL}?order=999999", {"order": 999999, "kind": "return"}, follow=True)
    assert messages_of(posted) == ["That order does not exist: look it up again."]
    assert not Ticket.objects.exists()


def test_a_reason_of_another_kind_is_refused_on_the_form(ops_client) -> None:
    order = order_with_line()

    response = post(ops_client, order, kind="exchange", reason=reason("not_received"), replacement_sku="SKU-B")

    assert response.context["form"].errors["reason"] == [
        "“Not received” is not a reason for a ticket of the kind “Exchange”; choose one of its own."
    ]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.png", b"just some text", "Evidence must be a JPEG, PNG or WebP image or an MP4 video"),
        ("photo.jpg", PNG, "The file is named “photo.jpg” but its content is image/png"),
        ("page.png", PNG + b"<script>alert(1)</script>", "it also holds web page, script, archive or PDF content"),
    ],
)
def test_a_bad_file_is_refused_on_the_form_and_opens_nothing(ops_client, name, content, message) -> None:
    order = order_with_line()

    response = post(ops_client, order, reason=reason("damaged"), evidence=SimpleUploadedFile(name, content))

    assert message in " ".join(response.context["form"].errors["evidence"])
    assert not Ticket.objects.exists()


def test_a_refusal_of_the_service_is_shown_on_the_form(ops_client) -> None:
    # Delivered long ago: outside the return window (the service's check, not the form's).
    order = order_with_line(paid_at=timezone.now() - timedelta(days=60))

    response = post(ops_client, order, reason=reason("damaged"))

    errors = response.context["form"].non_field_errors()
    assert errors and "return window" in errors[0]
    assert not Ticket.objects.exists()


def test_the_page_is_in_chinese_for_a_chinese_desk(ops_user) -> None:
    client = logged_in(ops_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    order = order_with_line()
    response = post(client, order, kind="complaint")
    page = response.content.decode()
    assert "请选择投诉类别。" in page and "开售后单" in page


def test_users_who_may_not_act_get_no_page(client, django_user_model) -> None:
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    assert client.get(URL).status_code == 403
