"""Each channel's sender, by the channel's name (``Notification.channel``)."""

from __future__ import annotations

from notifications.channels import Sender
from notifications.channels.email import EmailSender
from notifications.channels.robots import DingTalkSender, WeComSender
from notifications.channels.sms import SmsSender
from notifications.channels.webhook import WebhookSender

SENDERS: dict[str, type[Sender]] = {
    "webhook": WebhookSender,
    "email": EmailSender,
    "sms": SmsSender,
    "wecom": WeComSender,
    "dingtalk": DingTalkSender,
}


def sender_for(channel: str) -> Sender:
    return SENDERS[channel]()
