"""``manage.py incident``: preview, start and extend through the services, as a named staff member."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.models import IncidentStatus, IncidentTicket
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import ShopFactory
from tests.factories.tickets import user_create
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("incident", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_preview_start_and_extend_from_the_command_line():
    shop = ShopFactory()
    orders = [delayed_order(shop=shop) for _ in range(3)]
    incident = IncidentFactory(shops=[shop], title="中转停运")
    user_create("lead", is_staff=True)

    preview = run("preview", str(incident.pk))
    assert preview.startswith("中转停运: 3 orders, 3 buyers match.")
    assert all(order.number in preview for order in orders)
    assert not Ticket.objects.exists()  # a preview changes nothing

    assert "3 tickets opened, 0 linked, 0 flagged, 0 orders skipped." in run(
        "start", str(incident.pk), "--user", "lead"
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.RUNNING and incident.started_by.username == "lead"
    assert IncidentTicket.objects.filter(incident=incident).count() == 3

    before = list(Ticket.objects.order_by("pk").values_list("due_at", flat=True))
    assert run("extend", str(incident.pk), "--hours", "12", "--user", "lead").startswith("3 tickets moved, 0 held")
    after = list(Ticket.objects.order_by("pk").values_list("due_at", flat=True))
    assert [a - b for a, b in zip(after, before, strict=True)] == [timedelta(hours=12)] * 3


def test_it_names_what_is_wrong():
    incident = IncidentFactory(offers=[])
    user_create("lead", is_staff=True)
    with pytest.raises(CommandError, match="--user is required"):
        run("start", str(incident.pk))
    with pytest.raises(CommandError, match="at least one choice"):
        run("start", str(incident.pk), "--user", "lead")
    with pytest.raises(CommandError, match="has not been started"):
        run("extend", str(incident.pk), "--hours", "2", "--user", "lead")
    with pytest.raises(CommandError, match="No incident"):
        run("preview", "999999")
