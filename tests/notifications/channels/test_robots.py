"""WeCom and DingTalk group robots: a department's chat group, posted to over HTTP (a local server here)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

import pytest

from notifications.channels.robots import dingtalk_signed_url
from notifications.models import Channel, DepartmentRobot, Notification
from notifications.relay import notification_deliver
from routing.models import Department
from tests.notifications.conftest import open_return

pytestmark = pytest.mark.django_db


def test_dingtalk_signing_puts_timestamp_and_the_base64_hmac_of_timestamp_newline_secret_in_the_url() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=t0k"
    assert dingtalk_signed_url(url, "SECabc123", timestamp_ms=1767225600000) == (
        url + "&timestamp=1767225600000&sign=pvwH8bM5eQ0kH1kr%2BRPVoBxU5B9l7NCsCB86NIxp2WY%3D"
    )
    assert dingtalk_signed_url("https://robot.example.com/send", "s", timestamp_ms=1).startswith(
        "https://robot.example.com/send?timestamp=1&sign="
    )


def robot_message(url: str, channel: str, secret: str = "") -> Notification:
    DepartmentRobot.objects.create(
        department=Department.objects.get(code="operations"), channel=channel, url=url, secret=secret
    )
    return Notification.objects.get(ticket=open_return(), channel=channel)


def test_a_dingtalk_robot_with_a_secret_gets_a_signed_text_message(storefront) -> None:
    storefront.answer = {"errcode": 0, "errmsg": "ok"}
    row = robot_message(storefront.url + "?access_token=t0k", Channel.DINGTALK, secret="SECabc123")
    assert notification_deliver(notification_id=row.pk) == "sent"

    [hit] = storefront.hits
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(hit.path).query)
    timestamp, sign = query["timestamp"][0], query["sign"][0]
    expected = hmac.new(b"SECabc123", f"{timestamp}\nSECabc123".encode(), hashlib.sha256).digest()
    assert base64.b64decode(sign) == expected
    assert abs(int(timestamp) / 1000 - time.time()) < 60  # DingTalk refuses signatures older than an hour
    assert query["access_token"] == ["t0k"]
    assert hit.json == {"msgtype": "text", "text": {"content": f"{row.subject}\n{row.body}"}}


def test_a_robot_answering_an_error_code_is_a_failed_delivery(storefront) -> None:
    storefront.answer = {"errcode": 310000, "errmsg": "sign not match"}  # what DingTalk answers, with HTTP 200
    row = robot_message(storefront.url, Channel.DINGTALK, secret="wrong")
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert "errcode 310000: sign not match" in row.last_error


def test_a_wecom_robot_gets_the_text_message(storefront) -> None:
    storefront.answer = {"errcode": 0, "errmsg": "ok"}
    row = robot_message(storefront.url + "?key=693a91f6", Channel.WECOM)
    assert notification_deliver(notification_id=row.pk) == "sent"
    [hit] = storefront.hits
    assert hit.path.endswith("?key=693a91f6")
    body = json.loads(hit.body)
    assert body["msgtype"] == "text"
    assert row.ticket.number in body["text"]["content"]
