"""KEFU_CONNECTOR_KEY: rotation keeps old secrets readable, and check --deploy says when the key is missing."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from connectors.checks import connector_key_check
from connectors.models import ShopConnection

pytestmark = pytest.mark.django_db


def raw_secret(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT app_secret FROM connectors_shopconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_new_key_in_front_reads_old_secrets_and_rotation_re_encrypts_them(settings, connection, taobao):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.KEFU_CONNECTOR_KEY = old
    # Every secret written with the old key.
    ShopConnection.objects.filter(pk=connection.pk).update(
        app_secret=taobao.secret, access_token=taobao.session, refresh_token=""
    )
    before = raw_secret(connection.pk)

    settings.KEFU_CONNECTOR_KEY = f"{new},{old}"
    assert ShopConnection.objects.get(pk=connection.pk).app_secret == taobao.secret
    call_command("connectors_rotate_keys", stdout=None)

    settings.KEFU_CONNECTOR_KEY = new  # the old key removed
    assert raw_secret(connection.pk) != before
    assert ShopConnection.objects.get(pk=connection.pk).app_secret == taobao.secret


def test_the_deploy_check_warns_without_a_key_and_refuses_a_bad_one(settings):
    settings.KEFU_CONNECTOR_KEY = ""
    assert [m.id for m in connector_key_check()] == ["connectors.W001"]
    settings.KEFU_CONNECTOR_KEY = "not-a-key"
    assert [m.id for m in connector_key_check()] == ["connectors.E001"]
    settings.KEFU_CONNECTOR_KEY = Fernet.generate_key().decode()
    assert connector_key_check() == []
