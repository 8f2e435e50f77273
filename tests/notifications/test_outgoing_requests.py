"""Every HTTP channel goes through kefu.core.outbound: a refused target is dead at once with a clear
last_error (nothing is sent), a trickling receiver fails at the total deadline, a redirect is not followed
and the internal answer is never stored, a huge answer is not read, robot tokens never reach the log.
"""

from __future__ import annotations

import logging
import time

import pytest

from notifications.models import Channel, DepartmentRobot, Notification, Status
from notifications.relay import notification_deliver
from routing.models import Department
from tests.kefu.outbound.servers import answer, endless, keep_alive, tcp_server, trickle
from tests.notifications.conftest import open_return, webhook_shop

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("private_allowed", "url", "reason"),
    [
        (False, None, "a loopback address"),  # the storefront on 127.0.0.1 with private targets refused
        (True, "http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        (True, "gopher://127.0.0.1:6379/_FLUSHALL", "Only http and https URLs are allowed"),
        (True, "http://0x7f.1/hook", "unusual spelling"),
    ],
)
def test_a_refused_target_is_dead_at_once_with_the_reason_and_nothing_is_sent(
    storefront, settings, private_allowed, url, reason
) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = private_allowed
    row = Notification.objects.get(ticket=open_return(webhook_shop(storefront.url)))
    if url is not None:
        Notification.objects.filter(pk=row.pk).update(recipient=url)
    assert notification_deliver(notification_id=row.pk) == "dead"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.DEAD, 1)
    assert row.last_error.startswith("Refused target: ")
    assert reason in row.last_error
    assert storefront.hits == []


def test_a_storefront_trickling_its_answer_fails_at_the_total_deadline(settings) -> None:
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 1.5
    settings.KEFU_NOTIFY_HTTP_TIMEOUT = 1.5  # the former setting (a timeout per read): a trickle never hits it
    with tcp_server(trickle(answer(body=b'{"ok":true}'), every=0.5)) as receiver:
        row = Notification.objects.get(ticket=open_return(webhook_shop(f"{receiver.base}/kefu/webhook")))
        started = time.monotonic()
        assert notification_deliver(notification_id=row.pk) == "failed"
        elapsed = time.monotonic() - started
    row.refresh_from_db()
    assert 1.4 <= elapsed < 2.5
    assert "no complete answer within 1.5 s" in row.last_error


def test_a_redirect_is_not_followed_and_the_internal_answer_is_never_stored(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False
    settings.KEFU_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]  # the "public" storefront of this test only
    internal_secret = b'{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG"}'
    with tcp_server(keep_alive(answer(body=internal_secret)), host="127.0.0.2") as internal:
        redirect = answer("302 Found", body=b"", headers=(f"Location: {internal.base}/latest/meta-data/",))
        with tcp_server(keep_alive(redirect)) as storefront:
            row = Notification.objects.get(ticket=open_return(webhook_shop(f"{storefront.base}/kefu/webhook")))
            assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.last_error.startswith("HTTP 302")
    assert "wJalrXUtnFEMI" not in row.last_error
    assert internal.connections == 0


def test_a_huge_answer_is_a_failed_attempt_and_is_not_read(settings) -> None:
    with tcp_server(endless(total=30 * 1024 * 1024)) as receiver:
        row = Notification.objects.get(ticket=open_return(webhook_shop(f"{receiver.base}/kefu/webhook")))
        assert notification_deliver(notification_id=row.pk) == "failed"
        time.sleep(0.2)
        assert receiver.sent < 20 * 1024 * 1024
    row.refresh_from_db()
    assert "HTTP 200 with a body over 65536 bytes" in row.last_error
    assert "xxxx" not in row.last_error


def test_an_error_answer_is_kept_as_status_and_a_short_sanitized_excerpt(settings) -> None:
    body = b"\x1b[2J<html>" + b"internal stack trace " * 200 + b"</html>"
    with tcp_server(keep_alive(answer("500 Internal Server Error", body=body))) as receiver:
        row = Notification.objects.get(ticket=open_return(webhook_shop(f"{receiver.base}/kefu/webhook")))
        assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.last_error.startswith("HTTP 500: <html>internal stack trace")
    assert len(row.last_error) <= 220
    assert "\x1b" not in row.last_error


def test_a_robots_token_never_reaches_last_error_or_the_log(storefront, settings, caplog) -> None:
    settings.KEFU_NOTIFY_MAX_ATTEMPTS = 1
    storefront.answer = {"errcode": 93000, "errmsg": "invalid webhook url, key=693a91f6-7b2c-4e5f-9a1d-0c8e7f6b5a43"}
    token = "693a91f6-7b2c-4e5f-9a1d-0c8e7f6b5a43"
    DepartmentRobot.objects.create(
        department=Department.objects.get(code="operations"), channel=Channel.WECOM, url=f"{storefront.url}?key={token}"
    )
    row = Notification.objects.get(ticket=open_return(), channel=Channel.WECOM)
    with caplog.at_level(logging.INFO):
        assert notification_deliver(notification_id=row.pk) == "dead"
    row.refresh_from_db()
    assert "errcode 93000" in row.last_error
    assert token not in row.last_error
    assert token not in caplog.text
    assert "key=693a****" in row.last_error
    assert token not in str(row)
