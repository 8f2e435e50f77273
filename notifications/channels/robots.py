"""WeCom (企业微信) and DingTalk (钉钉) group robots: a department's chat group hears about its work."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from kefu.core.outbound import OutboundResponse
from kefu.core.outbound.masking import sanitize
from notifications.channels import DeliveryError, Message
from notifications.channels.http import post


def _text(message: Message) -> bytes:
    content = f"{message.subject}\n{message.body}".strip()
    return json.dumps({"msgtype": "text", "text": {"content": content}}, ensure_ascii=False).encode()


def _check_errcode(response: OutboundResponse) -> None:
    """A robot answers HTTP 200 with ``errcode`` other than 0 when it refuses (bad key, rate limit, …)."""
    try:
        answer = response.json()
    except ValueError:
        return
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        errmsg = sanitize(str(answer.get("errmsg", "")), 160)
        raise DeliveryError(f"robot answered errcode {sanitize(str(answer.get('errcode')), 20)}: {errmsg}")


class WeComSender:
    def send(self, message: Message) -> None:
        response = post(message.recipient, data=_text(message), headers={"Content-Type": "application/json"})
        _check_errcode(response)


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    """DingTalk's "加签": timestamp and base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")) in the URL."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    mac = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(mac))
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"


class DingTalkSender:
    def send(self, message: Message) -> None:
        from notifications.models import DepartmentRobot

        url = message.recipient
        robot = DepartmentRobot.objects.filter(url=url, channel="dingtalk").exclude(secret="").first()
        if robot is not None:
            url = dingtalk_signed_url(url, robot.secret)
        response = post(url, data=_text(message), headers={"Content-Type": "application/json"})
        _check_errcode(response)
