"""The demo offers canned replies and macros at once, every one valid as the admin would check it, and the demo
shops have return addresses for them to quote."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from orders.models import Shop
from replies.models import CannedReply, CannedReplyText, Macro
from replies.rendering import template_problem
from replies.services import macro_check

pytestmark = pytest.mark.django_db


def test_the_demo_has_valid_replies_in_both_languages_and_macros(settings, tmp_path) -> None:
    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert CannedReply.objects.count() >= 5
    for reply in CannedReply.objects.all():
        assert sorted(reply.texts.values_list("language", flat=True)) == ["en", "zh-hans"]
    for text in CannedReplyText.objects.all():
        assert template_problem(text.body) is None, text
    assert Macro.objects.filter(action="approve").exists()
    for macro in Macro.objects.all():
        macro_check(macro)
        assert template_problem(macro.note) is None
    assert not Shop.objects.filter(code__startswith="demo-", return_address="").exists()
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115  (again: nothing twice)
    assert CannedReply.objects.filter(title="催填物流单号").count() == 1
