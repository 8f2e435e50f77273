"""The incidents' admin (desk/admin/incidents/): a supervisor declares an incident (errors named by field, in the
user's language), previews the orders it matches, starts it, follows its progress (the polled fragment), opens the
queue filtered to its tickets, extends their internal deadlines and closes it; department staff open none of it.

The opening and the telling are Celery tasks in production; here the test runs their services itself after the
Start button (tests/browser/test_incident.py runs the whole with a real worker).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents.messaging import incident_tell_batch
from incidents.models import Incident, IncidentStatus, IncidentTicket
from incidents.services import incident_open_tickets
from tests.admin.conftest import listed, logged_in, messages_of
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import ShopFactory
from tickets.actors import Actor

pytestmark = pytest.mark.django_db

ADD = "admin:incidents_incident_add"


def page(incident: Incident, name: str = "change") -> str:
    return reverse(f"admin:incidents_incident_{name}", args=[incident.pk])


def declaration(**fields) -> dict:
    data = {
        "title": "中通湖北中转延误",
        "kind": "logistics_delay",
        "carrier": "ZTO",
        "tracking_statuses": ["in_transit"],
        "destination_region": "湖北省",
        "message": "您的包裹因武汉转运中心停运延误，我们深表歉意。",
        "message_en": "",
        "offers": ["wait", "refund"],
        "compensation_amount": "5.00",
        "messages_per_minute": "600",
        "skus": "",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def hubei_orders():
    shop = ShopFactory(code="own", name="官方商城")
    return [
        delayed_order(carrier="ZTO", destination_region=f"湖北省/{city}", shop=shop)
        for city in ("武汉市", "宜昌市", "襄阳市")
    ]


def test_a_declaration_with_errors_names_the_fields_in_chinese(supervisor) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(supervisor)

    response = client.post(reverse(ADD), declaration(offers=None, message="", compensation_amount=""))

    assert response.status_code == 200
    assert not Incident.objects.exists()
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"offers", "message"}
    summary = re.search(r'<ul class="errorlist" id="kefu-incident-errors">(.*?)</ul>', response.content.decode(), re.S)
    assert summary, "the list of fields to correct"
    text = summary.group(1)
    assert "可选方案" in text and "致买家的消息（中文）" in text  # the fields' labels, in Chinese


def test_declare_preview_start_follow_extend_close(sup_client, supervisor, hubei_orders) -> None:
    delayed_order(carrier="ZTO", destination_region="北京市/北京市")  # elsewhere: not in scope
    delayed_order(carrier="SF", destination_region="湖北省/武汉市")  # another carrier: not in scope

    # Declared: straight to its preview, nothing happened yet.
    response = sup_client.post(reverse(ADD), declaration(skus="KETTLE-17, SKU-A"))
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == page(incident, "preview")
    assert incident.status == IncidentStatus.DRAFT and incident.created_by == supervisor
    assert incident.skus == ["KETTLE-17", "SKU-A"]
    assert incident.message == {"zh-hans": "您的包裹因武汉转运中心停运延误，我们深表歉意。"}
    assert incident.channels == [] and incident.tracking_statuses == ["in_transit"]

    preview = sup_client.get(page(incident, "preview"))
    html = preview.content.decode()
    assert re.search(r'id="kefu-preview-orders">3<', html) and re.search(r'id="kefu-preview-buyers">3<', html)
    assert sorted(row["order"].number for row in preview.context["sample"]) == sorted(o.number for o in hubei_orders)
    assert "湖北省/武汉市" in html

    # Start needs the confirmation box.
    refused = sup_client.post(page(incident, "start"), {})
    assert refused.status_code == 200 and "confirm" in refused.context["start_form"].errors
    assert Incident.objects.get().status == IncidentStatus.DRAFT
    started = sup_client.post(page(incident, "start"), {"confirm": "on"})
    assert started.status_code == 302 and started["Location"] == page(incident)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RUNNING and incident.started_by == supervisor
    incident_open_tickets(incident)  # the task's work

    # The page and its polled fragment show the progress.
    fragment = sup_client.get(page(incident, "progress"))
    text = fragment.content.decode()
    assert re.search(r'data-figure="matched">3<', text)
    assert 'hx-trigger="every' in text  # polls on while running
    assert "no-store" in fragment["Cache-Control"]
    assert fragment.context["progress"].matched == 3

    # Its tickets in the queue; the flagged ones (none yet) through the second filter.
    tickets = sup_client.get(fragment.context["tickets_url"])
    linked = IncidentTicket.objects.filter(incident=incident).values_list("ticket__number", flat=True)
    assert sorted(listed(tickets)) == sorted(linked)
    assert listed(sup_client.get(fragment.context["flagged_url"])) == []

    # Extending the internal deadlines: every open ticket with a deadline moves.
    due_before = {link.ticket_id: link.ticket.due_at for link in IncidentTicket.objects.select_related("ticket")}
    extended = sup_client.post(page(incident, "extend"), {"hours": "24"}, follow=True)
    assert any("24" in message for message in messages_of(extended)), messages_of(extended)
    for link in IncidentTicket.objects.select_related("ticket"):
        if due_before[link.ticket_id] is not None:
            assert link.ticket.due_at >= due_before[link.ticket_id] + timedelta(hours=23)

    # Closing needs the final message; then the incident is a read-only record.
    refused = sup_client.post(page(incident, "close"), {"closing_message": ""}, follow=True)
    assert Incident.objects.get().status == IncidentStatus.RUNNING
    assert messages_of(refused)
    closed = sup_client.post(
        page(incident, "close"), {"closing_message": "包裹已恢复派送，感谢耐心等待。"}, follow=True
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED and incident.closed_at <= timezone.now()
    assert incident.closing_message == {"zh-hans": "包裹已恢复派送，感谢耐心等待。"}
    text = closed.content.decode()
    assert 'name="_save"' not in text  # nothing to save any more
    assert "hx-trigger" in text  # the final message is still going out: the figures still move
    incident_tell_batch(incident_id=incident.pk)  # the telling task's work: closes the tickets, tells the buyers
    text = sup_client.get(page(incident)).content.decode()
    assert re.search(r'data-figure="closing-told">3<', text)
    assert "hx-trigger" not in text  # final figures, no more polling
    assert sup_client.post(page(incident, "extend"), {"hours": "24"}).status_code == 403


def test_department_staff_open_no_incident_page(ops_client, supervisor) -> None:
    incident = IncidentFactory()
    assert ops_client.get(reverse("admin:incidents_incident_changelist")).status_code == 403
    assert ops_client.get(page(incident, "preview")).status_code == 403
    assert ops_client.post(page(incident, "start"), {"confirm": "on"}).status_code == 403
    assert Incident.objects.get().status == IncidentStatus.DRAFT
    assert logged_in(supervisor).get(page(incident, "preview")).status_code == 200


def test_a_started_incident_cannot_be_deleted_a_draft_can(sup_client) -> None:
    draft, running = IncidentFactory(), IncidentFactory(status=IncidentStatus.RUNNING)
    assert sup_client.get(page(running, "delete")).status_code == 403
    assert sup_client.post(page(draft, "delete"), {"post": "yes"}).status_code == 302
    assert list(Incident.objects.all()) == [running]


def test_the_progress_fragment_costs_the_same_queries_at_any_size(sup_client) -> None:
    """The page polls every few seconds: its fragment must not grow with the incident (2 orders, then 8)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from incidents.services import incident_start

    shop = ShopFactory(code="own", name="官方商城")
    counts = []
    for size in (2, 8):
        for _ in range(size):
            delayed_order(carrier=f"ZTO{size}", destination_region="湖北省/武汉市", shop=shop)
        incident = IncidentFactory(carrier=f"ZTO{size}")
        incident_start(incident=incident, actor=Actor.system("test"))
        incident_open_tickets(incident)
        with CaptureQueriesContext(connection) as queries:
            response = sup_client.get(page(incident, "progress"))
        assert response.context["progress"].matched == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
