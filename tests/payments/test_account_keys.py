"""Payment accounts' secrets at rest: encrypted with KEFU_CONNECTOR_KEY, readable after a new key is put in front,
re-encrypted by ``payments_rotate_keys``."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from orders.models import Shop
from payments.models import PaymentAccount, Provider

pytestmark = pytest.mark.django_db


def raw(pk: int) -> tuple[str, str]:
    with db.cursor() as cursor:
        cursor.execute("SELECT private_key, apiv3_key FROM payments_paymentaccount WHERE id = %s", [pk])
        row = cursor.fetchone()
        return row[0], row[1]


def test_secrets_are_encrypted_and_rotation_re_encrypts_them(settings, shop: Shop) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KEFU_CONNECTOR_KEY = old
    account = PaymentAccount.objects.create(
        shop=shop, provider=Provider.WECHATPAY, app_id="wx1", private_key="PEM-TEXT", apiv3_key="k" * 32
    )
    before = raw(account.pk)

    settings.KEFU_CONNECTOR_KEY = f"{new},{old}"
    call_command("payments_rotate_keys", stdout=None)
    settings.KEFU_CONNECTOR_KEY = new

    assert all(value.startswith("fernet:") and "PEM-TEXT" not in value for value in before)
    assert raw(account.pk) != before
    reread = PaymentAccount.objects.get(pk=account.pk)
    assert (reread.private_key, reread.apiv3_key) == ("PEM-TEXT", "k" * 32)
