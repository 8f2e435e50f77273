"""Outgoing URLs in the admin: refused when saved with the reason (kefu.core.outbound's rules), robot tokens
and signing secrets never shown again, the webhook secret rotated with the new one shown once.

Private targets are refused here, as in production (the rest of the suite allows them for its receivers).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Channel, DepartmentRobot, Notification
from orders.models import Shop
from routing.models import Department
from tests.admin.conftest import messages_of
from tests.admin.test_configuration import errors_of, shop_form
from tests.factories.orders import ShopFactory
from tests.notifications.conftest import open_return

pytestmark = pytest.mark.django_db

TOKEN = "693a91f6-7b2c-4e5f-9a1d-0c8e7f6b5a43"
ROBOT_URL = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={TOKEN}"
DING_TOKEN = "8f2b7c1d9e0a4b3c6d5e8f7a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c"
DING_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"


@pytest.fixture(autouse=True)
def _no_private_targets(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("http://[::ffff:10.0.0.1]/hook", "a private network address"),
        ("http://localhost/hook", "localhost resolves to"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "a cloud metadata address"),
    ],
)
def test_a_shop_webhook_url_kefu_would_not_send_to_is_refused_with_the_reason(sup_client, url, reason) -> None:
    shop = ShopFactory()
    page = sup_client.post(
        reverse("admin:orders_shop_change", args=[shop.pk]),
        shop_form(shop, webhook_url=url, webhook_secret="s3cr3t-s3cr3t-s3cr3t"),
    )
    [message] = errors_of(page)["webhook_url"]
    assert reason in message
    shop.refresh_from_db()
    assert shop.webhook_url == ""


def test_the_refusal_is_in_the_users_language(sup_client) -> None:
    shop = ShopFactory()
    page = sup_client.post(
        reverse("admin:orders_shop_change", args=[shop.pk]),
        shop_form(shop, webhook_url="http://10.0.0.8/hook", webhook_secret="s3cr3t-s3cr3t-s3cr3t"),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    [message] = errors_of(page)["webhook_url"]
    assert "私有网络地址" in message


def test_the_model_itself_accepts_any_url_so_fixtures_and_the_benchmark_bootstrap_still_save() -> None:
    """The shared benchmark saves a shop whose webhook is on 127.0.0.1 and calls full_clean()."""
    shop = Shop(
        code="bench",
        name="Bench shop",
        channel="own",
        webhook_url="http://127.0.0.1:9/kefu/webhook",
        webhook_secret="bench-webhook-secret-0123456789abcdef",
    )
    shop.full_clean()


def robot_form(**changes):
    return {
        "department": Department.objects.get(code="operations").pk,
        "channel": Channel.WECOM,
        "url": ROBOT_URL,
        "secret": "",
        "active": "on",
        **changes,
    }


def test_a_robot_url_kefu_would_not_send_to_is_refused_with_the_reason(sup_client) -> None:
    page = sup_client.post(
        reverse("admin:notifications_departmentrobot_add"),
        robot_form(url="http://192.168.1.20/cgi-bin/webhook/send?key=abc"),
    )
    [message] = errors_of(page)["url"]
    assert "192.168.1.20 is a private network address" in message
    assert not DepartmentRobot.objects.exists()


def test_robot_tokens_are_masked_in_the_list_and_the_form_and_an_unchanged_form_keeps_them(sup_client) -> None:
    robot = DepartmentRobot.objects.create(
        department=Department.objects.get(code="operations"),
        channel=Channel.DINGTALK,
        url=f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}",
        secret=DING_SECRET,
    )
    change = reverse("admin:notifications_departmentrobot_change", args=[robot.pk])
    listing = sup_client.get(reverse("admin:notifications_departmentrobot_changelist")).content.decode()
    form_page = sup_client.get(change)
    page = form_page.content.decode()
    for text in (listing, page):
        assert DING_TOKEN not in text
        assert DING_SECRET not in text
    assert "access_token=8f2b****" in listing and "access_token=8f2b****" in page

    # Saved as shown (masked URL, empty secret field): the token and the secret stay.
    shown = form_page.context["adminform"].form.initial["url"]
    saved = sup_client.post(change, robot_form(channel=Channel.DINGTALK, url=shown, active="on"))
    assert saved.status_code == 302
    robot.refresh_from_db()
    assert robot.url == f"https://oapi.dingtalk.com/robot/send?access_token={DING_TOKEN}"
    assert robot.secret == DING_SECRET

    # A new URL and secret replace them; "remove the signing secret" clears it.
    sup_client.post(change, robot_form(channel=Channel.DINGTALK, url=ROBOT_URL, secret="SECnew0123456789"))
    robot.refresh_from_db()
    assert (robot.url, robot.secret) == (ROBOT_URL, "SECnew0123456789")
    sup_client.post(change, robot_form(channel=Channel.DINGTALK, url=mask(ROBOT_URL), clear_secret="on"))
    robot.refresh_from_db()
    assert (robot.url, robot.secret) == (ROBOT_URL, "")


def mask(url: str) -> str:
    from kefu.core.outbound import mask_url

    return mask_url(url)


def test_the_delivery_log_shows_robot_recipients_and_errors_masked(sup_client) -> None:
    DepartmentRobot.objects.create(department=Department.objects.get(code="operations"), channel="wecom", url=ROBOT_URL)
    row = Notification.objects.get(ticket=open_return(), channel=Channel.WECOM)
    Notification.objects.filter(pk=row.pk).update(last_error=f"robot answered errcode 93000: bad key={TOKEN}")
    listing = sup_client.get(reverse("admin:notifications_notification_changelist")).content.decode()
    detail = sup_client.get(reverse("admin:notifications_notification_change", args=[row.pk])).content.decode()
    for page in (listing, detail):
        assert TOKEN not in page
        assert "key=693a****" in page


def test_the_shop_secret_is_write_only_and_an_empty_field_keeps_it(sup_client) -> None:
    shop = ShopFactory(webhook_url="https://shop.example.com/hook", webhook_secret="whsec_keep_me_0123456789")
    url = reverse("admin:orders_shop_change", args=[shop.pk])
    assert "whsec_keep_me_0123456789" not in sup_client.get(url).content.decode()
    saved = sup_client.post(url, shop_form(shop, webhook_url="https://shop.example.com/hook2"))
    assert saved.status_code == 302
    shop.refresh_from_db()
    assert (shop.webhook_url, shop.webhook_secret) == ("https://shop.example.com/hook2", "whsec_keep_me_0123456789")


def test_rotating_the_webhook_secret_shows_the_new_one_once_and_keeps_the_old_one_for_the_overlap(
    sup_client, settings
) -> None:
    settings.KEFU_WEBHOOK_SECRET_OVERLAP_HOURS = 48
    shop = ShopFactory(webhook_url="https://shop.example.com/hook", webhook_secret="whsec_old_0123456789abc")
    changelist = reverse("admin:orders_shop_changelist")
    done = sup_client.post(changelist, {"action": "rotate_webhook_secret", "_selected_action": [shop.pk]}, follow=True)
    shop.refresh_from_db()
    [message] = messages_of(done)
    assert shop.webhook_secret in message and "will not be shown again" in message
    assert shop.webhook_secret != "whsec_old_0123456789abc"
    assert shop.webhook_secret_previous == "whsec_old_0123456789abc"
    assert shop.webhook_secrets() == [shop.webhook_secret, "whsec_old_0123456789abc"]
    hours_left = (shop.webhook_secret_previous_until - timezone.now()).total_seconds() / 3600
    assert 47.9 < hours_left <= 48
    assert shop.webhook_secret not in sup_client.get(changelist).content.decode()  # shown once
    assert (
        shop.webhook_secret not in sup_client.get(reverse("admin:orders_shop_change", args=[shop.pk])).content.decode()
    )
