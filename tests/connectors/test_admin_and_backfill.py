"""The connections' admin pages as a supervisor sees them, and the backfill command."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connectors.models import PlatformCase, ShopConnection, WriteBack, WriteBackStatus
from connectors.platforms import connector_for
from connectors.services.ingest import case_ingest
from tests.admin.conftest import desk_user, logged_in
from tests.factories.tickets import staff_actor
from tickets.services import ticket_act

pytestmark = pytest.mark.django_db


@pytest.fixture
def sup_client():
    return logged_in(desk_user("supervisors", username="sup-connections"))


def test_the_connection_page_never_shows_the_secrets_and_an_empty_field_keeps_them(sup_client, connection, taobao):
    url = reverse("admin:connectors_shopconnection_change", args=[connection.pk])

    page = sup_client.get(url)

    assert page.status_code == 200
    body = page.content.decode()
    assert taobao.secret not in body and taobao.session not in body
    form = {
        "shop": connection.shop_id,
        "platform": "taobao",
        "external_id": connection.external_id,
        "active": "on",
        "base_url": connection.base_url,
        "app_key": connection.app_key,
        "app_secret": "",
        "access_token": "new-session-token",
        "refresh_token": "",
        "return_address_id": "5002",
    }
    saved = sup_client.post(url, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    stored = ShopConnection.objects.get(pk=connection.pk)
    assert (stored.app_secret, stored.access_token, stored.return_address_id) == (
        taobao.secret,
        "new-session-token",
        "5002",
    )


def test_the_connection_list_shows_last_pull_lag_and_error_rate_and_queues_a_sync(sup_client, connection):
    ShopConnection.objects.filter(pk=connection.pk).update(
        last_pull_at=timezone.now() - timedelta(minutes=7), pulls=4, pull_errors=1
    )
    url = reverse("admin:connectors_shopconnection_changelist")

    page = sup_client.get(url).content.decode()
    assert "7 min" in page and "25% (1/4)" in page

    done = sup_client.post(url, {"action": "sync_now", "_selected_action": [connection.pk]}, follow=True)
    assert "A pull of 1 connection was queued." in done.content.decode()


def test_unknown_codes_are_listed_with_a_filter(sup_client, connection, taobao):
    known = taobao.create("refund_only")
    odd = taobao.create("refund_only", status="WAIT_SOMETHING_NEW")
    connector = connector_for(connection)
    for refund in (known, odd):
        case_ingest(connection=connection, snapshot=connector.fetch(refund["refund_id"]))

    page = sup_client.get(reverse("admin:connectors_platformcase_changelist"), {"codes": "unknown"}).content.decode()

    assert odd["refund_id"] in page and known["refund_id"] not in page


def test_a_dead_write_back_is_resent_from_the_admin(sup_client, connection, taobao):
    refund = taobao.create("return_refund")
    case_ingest(connection=connection, snapshot=connector_for(connection).fetch(refund["refund_id"]))
    ticket = PlatformCase.objects.get(case_id=refund["refund_id"]).ticket.as_kind()
    ticket_act(ticket=ticket, actor=staff_actor("operations"), action="approve", reason="")
    row = WriteBack.objects.get()
    WriteBack.objects.filter(pk=row.pk).update(status=WriteBackStatus.DEAD, attempts=8, last_error="transient: x")

    sup_client.post(
        reverse("admin:connectors_writeback_changelist"), {"action": "resend", "_selected_action": [row.pk]}
    )

    row.refresh_from_db()
    assert (row.status, row.attempts) == (WriteBackStatus.PENDING, 0)


def test_backfill_pulls_a_date_range_with_a_progress_bar(connection, taobao):
    ids = [taobao.create("refund_only")["refund_id"] for _ in range(3)]
    out, err = io.StringIO(), io.StringIO()
    since = (timezone.now() - timedelta(days=1)).isoformat()

    call_command("connectors_backfill", "--connection", str(connection.pk), "--since", since, stdout=out, stderr=err)

    assert "3 cases" in out.getvalue() and "created 3" in out.getvalue()
    assert "100%" in err.getvalue()
    assert PlatformCase.objects.filter(case_id__in=ids, ticket__isnull=False).count() == 3
    connection.refresh_from_db()
    assert connection.pull_cursor == ""  # the regular pull's cursor is left alone


def test_the_ticket_page_shows_the_platforms_deadline(sup_client, connection, taobao):
    refund = taobao.create("refund_only", deadline_hours=10)
    case_ingest(connection=connection, snapshot=connector_for(connection).fetch(refund["refund_id"]))
    ticket = PlatformCase.objects.get(case_id=refund["refund_id"]).ticket

    page = sup_client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()

    assert 'id="kefu-platform-due"' in page and "Deadline on Taobao" in page
