"""The Aliyun SMS adapter against a local simulator of dysmsapi that verifies the signature, limits each number
and can be slow (tests/simulators/aliyun_sms.py): only the endpoint differs from production.

Outcomes: accepted → sent; a number Aliyun never accepts → dead at once; rate limits, Aliyun's errors and
configuration errors (bad signature, unknown template) → retried with backoff; too slow → retried.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from notifications.channels.sms_aliyun import sign, string_to_sign
from notifications.models import Channel, Notification, ShopChannels, Status
from notifications.relay import notification_deliver
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import order_with_line
from tests.notifications.conftest import open_return
from tests.simulators.aliyun_sms import AliyunSmsSimulator, aliyun_sms_running

pytestmark = pytest.mark.django_db

KEY_ID, KEY_SECRET = "LTAI5tSimulatorKey", "SimulatorSecret0123456789abcdef"


@pytest.fixture
def aliyun(settings) -> Iterator[AliyunSmsSimulator]:
    with aliyun_sms_running() as simulator:
        settings.KEFU_SMS_PROVIDER = "notifications.channels.sms_aliyun.AliyunSmsProvider"
        settings.KEFU_SMS_ALIYUN_ENDPOINT = simulator.url
        settings.KEFU_SMS_ALIYUN_ACCESS_KEY_ID = KEY_ID
        settings.KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET = KEY_SECRET
        settings.KEFU_SMS_ALIYUN_SIGN_NAME = "客服中心"
        settings.KEFU_SMS_ALIYUN_TEMPLATE_CODE = "SMS_460935001"
        settings.KEFU_NOTIFY_RETRY_BASE_SECONDS = 0
        yield simulator


def sms_to(phone: str) -> Notification:
    shop = ShopFactory()
    ShopChannels.objects.create(shop=shop, webhook=False, sms=True)
    ticket = open_return(order=order_with_line(shop=shop, buyer=BuyerFactory(shop=shop, phone=phone)))
    return Notification.objects.get(ticket=ticket, channel=Channel.SMS)


def test_the_signature_matches_aliyuns_documented_example() -> None:
    """The example of Alibaba Cloud's RPC signature documentation (secret "testsecret")."""
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert sign("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_a_message_is_sent_signed_with_the_template_and_the_dedup_key(aliyun) -> None:
    row = sms_to("13912345678")
    assert notification_deliver(notification_id=row.pk) == "sent"
    [sent] = aliyun.sent
    assert sent == {
        "phone": "13912345678",
        "sign_name": "客服中心",
        "template": "SMS_460935001",
        "params": {"content": row.body},
        "out_id": row.dedup_key,
        "biz_id": sent["biz_id"],
    }
    assert aliyun.refused == []


def test_a_wrong_secret_is_refused_by_the_signature_check_and_retried(aliyun, settings) -> None:
    settings.KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    row = sms_to("13912345678")
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert aliyun.refused == ["SignatureDoesNotMatch"] and aliyun.sent == []
    assert "SignatureDoesNotMatch" in row.last_error
    assert "not-the-secret" not in row.last_error and "13912345678" not in row.last_error

    settings.KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET = KEY_SECRET  # the operator fixes the configuration
    assert notification_deliver(notification_id=row.pk) == "sent"


def test_an_illegal_number_is_dead_at_once_and_the_number_is_masked(aliyun) -> None:
    row = sms_to("1391234")
    assert notification_deliver(notification_id=row.pk) == "dead"
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.DEAD, 1)
    assert "isv.MOBILE_NUMBER_ILLEGAL" in row.last_error
    assert "1391234" not in row.last_error and "139****1234" in row.last_error


def test_a_rate_limited_message_is_retried_and_sent_once_the_minute_has_passed(aliyun) -> None:
    first, second = sms_to("13800001111"), sms_to("13800001111")
    assert notification_deliver(notification_id=first.pk) == "sent"
    assert notification_deliver(notification_id=second.pk) == "failed"
    second.refresh_from_db()
    assert "isv.BUSINESS_LIMIT_CONTROL" in second.last_error and second.status == Status.PENDING
    aliyun.forget_rate_limits()
    assert notification_deliver(notification_id=second.pk) == "sent"
    assert [s["out_id"] for s in aliyun.sent] == [first.dedup_key, second.dedup_key]


def test_a_slow_provider_fails_at_the_deadline_and_is_retried(aliyun, settings) -> None:
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 0.5
    aliyun.delay = 1.0
    row = sms_to("13912345678")
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert "no complete answer within 0.5 s" in row.last_error and row.status == Status.PENDING


def test_the_endpoint_is_held_to_the_outbound_rules(aliyun, settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False  # the simulator is on 127.0.0.1
    row = sms_to("13912345678")
    assert notification_deliver(notification_id=row.pk) == "dead"
    row.refresh_from_db()
    assert "loopback" in row.last_error and aliyun.sent == []


def test_the_simulator_rejects_a_replayed_nonce_and_an_unknown_key(aliyun) -> None:
    from kefu.core import outbound
    from notifications.channels.sms_aliyun import AliyunSmsProvider, percent_encode

    params = AliyunSmsProvider().params(phone="13912345678", text="hi", dedup_key="k1")
    form = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in params.items()).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert outbound.post(aliyun.url, data=form, headers=headers).json()["Code"] == "OK"
    replay = outbound.post(aliyun.url, data=form, headers=headers)
    assert (replay.status, replay.json()["Code"]) == (400, "SignatureNonceUsed")
    unknown = outbound.post(aliyun.url, data=form.replace(KEY_ID.encode(), b"LTAIunknown"), headers=headers)
    assert (unknown.status, json.loads(unknown.body)["Code"]) == (404, "InvalidAccessKeyId.NotFound")


def test_without_configuration_it_says_what_to_set(settings) -> None:
    settings.KEFU_SMS_PROVIDER = "notifications.channels.sms_aliyun.AliyunSmsProvider"
    row = sms_to("13912345678")
    assert notification_deliver(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert "KEFU_SMS_ALIYUN_ACCESS_KEY_ID" in row.last_error
