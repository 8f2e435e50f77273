"""Staff API tokens: stored only as a hash, shown once, expiring, revocable (admin and command), and a token from
before (DRF's plain authtoken) keeps working hashed until it expires. A refused token is a JSON 401 in the
caller's language."""

from __future__ import annotations

import importlib
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import StaffToken, hash_secret
from tests.admin.conftest import logged_in, messages_of
from tests.api.conftest import assert_error, staff_user, url

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module("api.migrations.0002_staff_tokens_hashed_expiring")


def get_queue(raw: str, language: str = "en"):
    client = APIClient()
    return client.get(url("staff-queue"), HTTP_AUTHORIZATION=f"Token {raw}", HTTP_ACCEPT_LANGUAGE=language)


def test_a_token_works_and_only_its_hash_is_stored(settings):
    user = staff_user("operations", username="ops-token")
    token, raw = StaffToken.issue(user=user, name="carrier feed")

    assert get_queue(raw).status_code == 200
    secret = raw.split("_", 2)[2]
    stored = " ".join(str(v) for v in StaffToken.objects.filter(pk=token.pk).values().get().values())
    assert secret not in stored and raw not in stored
    assert token.hashed_secret == hash_secret(secret)
    assert token.expires_at - token.created_at == timedelta(hours=settings.KEFU_STAFF_TOKEN_TTL_HOURS)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_an_expired_token_is_refused_with_a_json_401_in_the_callers_language(settings):
    settings.KEFU_STAFF_TOKEN_TTL_HOURS = 1
    _token, raw = StaffToken.issue(user=staff_user("operations"), name="tool")

    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1)):
        en = assert_error(get_queue(raw, "en"), 401, "authentication_failed")
        zh = assert_error(get_queue(raw, "zh-hans"), 401, "authentication_failed")

    assert "expired" in en["message"], en
    assert "过期" in zh["message"], zh


def test_a_revoked_token_is_refused_at_once(sup_client_superuser):
    _token, raw = StaffToken.issue(user=staff_user("warehouse"), name="wms")
    assert get_queue(raw).status_code == 200
    token = StaffToken.objects.get()

    response = sup_client_superuser.post(
        reverse("admin:api_stafftoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )

    assert any("1 staff token revoked" in m for m in messages_of(response)), messages_of(response)
    en = assert_error(get_queue(raw, "en"), 401, "authentication_failed")
    zh = assert_error(get_queue(raw, "zh-hans"), 401, "authentication_failed")
    assert "revoked" in en["message"] and "吊销" in zh["message"], (en, zh)


def test_a_wrong_secret_and_a_deactivated_user_are_refused():
    user = staff_user("operations")
    _token, raw = StaffToken.issue(user=user, name="tool")

    assert_error(get_queue(raw[:-4] + "abcd"), 401, "authentication_failed")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(get_queue(raw), 401, "authentication_failed")


def test_the_admin_shows_a_new_token_once(sup_client_superuser):
    user = staff_user("logistics", username="carrier-feed")

    response = sup_client_superuser.post(
        reverse("admin:api_stafftoken_add"), {"user": user.pk, "name": "carrier feed"}, follow=True
    )

    [shown] = [m for m in messages_of(response) if "copy it now" in m]
    raw = shown.split(" is ", 1)[1].split(" ", 1)[0]
    assert get_queue(raw).status_code == 200
    page = sup_client_superuser.get(reverse("admin:api_stafftoken_changelist")).content.decode()
    assert raw.split("_", 2)[2] not in page


def test_the_command_issues_lists_and_revokes():
    staff_user("warehouse", username="wms-robot")
    out = StringIO()

    call_command("staff_token", "issue", "wms-robot", "--name", "WMS", "--hours", "2", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    assert get_queue(raw).status_code == 200
    listing = StringIO()
    call_command("staff_token", "list", stdout=listing)
    assert "wms-robot" in listing.getvalue() and raw.split("_", 2)[2] not in listing.getvalue()

    call_command("staff_token", "revoke", raw.rsplit("_", 1)[0], stdout=StringIO())
    assert_error(get_queue(raw), 401, "authentication_failed")


def test_plain_tokens_from_before_are_converted_to_hashes_and_expire(settings):
    user = staff_user("operations", username="old-script")
    plain = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token "
            "(key varchar(40) PRIMARY KEY, user_id integer, created timestamp with time zone)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [plain, user.pk, timezone.now()])

    MIGRATION.convert_plain_tokens(django_apps(), connection.schema_editor())

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0  # no plain token left
    token = StaffToken.objects.get(user=user)
    assert token.hashed_secret == hash_secret(plain) and plain not in token.prefix
    assert get_queue(plain).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=settings.KEFU_STAFF_TOKEN_TTL_HOURS, minutes=1)):
        assert_error(get_queue(plain), 401, "authentication_failed")


def django_apps():
    from django.apps import apps

    return apps


@pytest.fixture
def sup_client_superuser():
    return logged_in(staff_user("supervisors", username="root", superuser=True))
