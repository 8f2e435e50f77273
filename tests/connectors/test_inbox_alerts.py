"""A pushed message kefu gives up on raises the alarm: /metrics counts it, the connections' admin page warns,
the inbox admin filters it, and "process again" retries it once the cause is fixed."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from connectors.models import InboxMessage
from connectors.services.sync import inbox_process
from tests.admin.conftest import desk_user, logged_in
from tests.connectors.conftest import push, ticket_of
from tests.ops.test_metrics import TOKEN, scrape

pytestmark = pytest.mark.django_db


@pytest.fixture
def sup_client():
    return logged_in(desk_user("supervisors", username="sup-inbox"))


def given_up_push(client, connection, taobao) -> str:
    """A push whose detail the platform refuses for good (a revoked session, no refresh token)."""
    refund = taobao.create("refund_only")
    taobao.session = "6100-revoked-by-the-seller"
    push(client, taobao.message(refund["refund_id"], "RefundCreated"))
    assert inbox_process().failed == 1
    return str(refund["refund_id"])


@override_settings(KEFU_METRICS_TOKEN=TOKEN)
def test_metrics_count_the_inbox_messages_given_up_on_and_waiting(client, connection, taobao):
    given_up_push(client, connection, taobao)
    push(client, taobao.message(taobao.create("refund_only")["refund_id"], "RefundCreated"))

    figures = scrape(client)

    assert figures["kefu_connector_inbox_failed"] == {(("platform", "taobao"),): 1}
    assert figures["kefu_connector_inbox_pending"] == {(("platform", "taobao"),): 1}


def test_the_admin_warns_lists_and_processes_a_failed_message_again(client, sup_client, connection, taobao):
    refund_id = given_up_push(client, connection, taobao)

    page = sup_client.get(reverse("admin:connectors_shopconnection_changelist")).content.decode()
    assert "1 pushed message could not be processed." in page and "outcome=failed" in page
    inbox = reverse("admin:connectors_inboxmessage_changelist")
    listed = sup_client.get(inbox, {"outcome": "failed"}).content.decode()
    assert refund_id in listed and "invalid-session" in listed
    assert refund_id not in sup_client.get(inbox, {"outcome": "done"}).content.decode()

    connection.refresh_from_db()
    connection.access_token = taobao.session  # the fix: the shop's new token
    connection.save()
    done = sup_client.post(
        inbox, {"action": "process_again", "_selected_action": [InboxMessage.objects.get().pk]}, follow=True
    )
    assert "1 message put back in line." in done.content.decode()
    assert inbox_process().processed == 1
    assert ticket_of(refund_id).state == "requested"
    assert (
        "could not be processed"
        not in sup_client.get(reverse("admin:connectors_shopconnection_changelist")).content.decode()
    )
