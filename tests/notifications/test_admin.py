"""The delivery log in the admin: what supervisors see and filter, and the resend action for dead letters."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from notifications.models import Notification, Status
from tests.notifications.conftest import open_return, webhook_shop

pytestmark = pytest.mark.django_db

HOOK = "https://shop.example.com/kefu/webhook"
LOG = "admin:notifications_notification_changelist"


@pytest.fixture
def supervisor_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def rows_in(statuses: list[str]) -> list[Notification]:
    rows = [Notification.objects.get(ticket=open_return(webhook_shop(HOOK))) for _ in statuses]
    for row, status in zip(rows, statuses, strict=True):
        Notification.objects.filter(pk=row.pk).update(status=status, attempts=8, last_error="HTTP 502: bad gateway")
    return rows


def test_the_log_lists_message_channel_recipient_attempts_error_and_status_and_filters_by_status(
    supervisor_client,
) -> None:
    dead, sent = rows_in([Status.DEAD, Status.SENT])
    page = supervisor_client.get(reverse(LOG)).content.decode()
    for text in (HOOK, "HTTP 502: bad gateway", dead.ticket.number, sent.ticket.number):
        assert text in page
    only_dead = supervisor_client.get(reverse(LOG), {"status__exact": "dead"})
    assert [n.pk for n in only_dead.context["cl"].result_list] == [dead.pk]
    found = supervisor_client.get(reverse(LOG), {"q": sent.dedup_key})
    assert [n.pk for n in found.context["cl"].result_list] == [sent.pk]


def test_resend_puts_only_the_dead_letters_back_in_the_outbox(supervisor_client) -> None:
    dead, sent = rows_in([Status.DEAD, Status.SENT])
    response = supervisor_client.post(
        reverse(LOG),
        {"action": "resend", "_selected_action": [dead.pk, sent.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    messages = [str(m) for m in response.context["messages"]]
    assert "1 message queued again." in messages
    assert "1 selected message(s) were not dead-lettered and were left alone." in messages
    dead.refresh_from_db()
    sent.refresh_from_db()
    assert (dead.status, dead.attempts) == (Status.PENDING, 0)
    assert (sent.status, sent.attempts) == (Status.SENT, 8)


def test_the_log_is_read_only(supervisor_client) -> None:
    [row] = rows_in([Status.DEAD])
    assert supervisor_client.get(reverse("admin:notifications_notification_add")).status_code == 403
    assert supervisor_client.get(reverse("admin:notifications_notification_delete", args=[row.pk])).status_code == 403
    supervisor_client.post(reverse("admin:notifications_notification_change", args=[row.pk]), {"status": "sent"})
    row.refresh_from_db()
    assert row.status == Status.DEAD


def test_resend_from_the_log_filtered_to_dead_letters_reports_what_it_did(supervisor_client) -> None:
    """The supervisor filters the log to the dead letters and resends them all: no "-1 … were not dead-lettered"."""
    dead = rows_in([Status.DEAD, Status.DEAD])
    rows_in([Status.SENT])  # not in the filtered list
    response = supervisor_client.post(
        reverse(LOG) + "?status__exact=dead",
        {"action": "resend", "_selected_action": [row.pk for row in dead]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["2 messages queued again."]
    assert set(Notification.objects.filter(pk__in=[row.pk for row in dead]).values_list("status", flat=True)) == {
        Status.PENDING
    }


def test_resend_of_every_dead_letter_across_pages_counts_the_selection(supervisor_client) -> None:
    dead = rows_in([Status.DEAD, Status.DEAD, Status.DEAD])
    response = supervisor_client.post(
        reverse(LOG) + "?status__exact=dead",
        {"action": "resend", "select_across": "1", "_selected_action": [dead[0].pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1, messages
    assert "3" in messages[0] and "-" not in messages[0]
