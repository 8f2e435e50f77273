"""The save-time check shared by admin forms and API serializers: the same rules as sending, in the user's
language; a name that does not resolve yet is left to the send-time check."""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework import serializers

from kefu.core.outbound.validators import validate_outbound_url


class WebhookInput(serializers.Serializer):
    webhook_url = serializers.URLField(validators=[validate_outbound_url])


@pytest.fixture(autouse=True)
def _no_private_targets(settings) -> None:
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False


def test_a_serializer_refuses_a_private_target_with_the_reason() -> None:
    data = WebhookInput(data={"webhook_url": "http://192.168.0.10/hook"})
    assert not data.is_valid()
    [error] = data.errors["webhook_url"]
    assert str(error) == "192.168.0.10 is a private network address; kefu only sends to public internet addresses."
    assert error.code == "blocked_target"
    with translation.override("zh-hans"):
        data = WebhookInput(data={"webhook_url": "http://192.168.0.10/hook"})
        assert not data.is_valid()
        assert "私有网络地址" in str(data.errors["webhook_url"][0])


def test_public_and_not_yet_resolvable_names_pass() -> None:
    assert WebhookInput(data={"webhook_url": "https://93.184.216.34/hook"}).is_valid()
    assert WebhookInput(data={"webhook_url": "https://storefront-not-live-yet.invalid/hook"}).is_valid()
