"""The admin's face (desk/site.py): its name, no link to a site that does not exist, Django's own "Change" (修改),
kefu's apps first and the infrastructure last, for superusers only."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import translation

from tests.admin.conftest import desk_user

pytestmark = pytest.mark.django_db


def client_for(user, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def superuser():
    return get_user_model().objects.create_superuser("root", "root@example.com", "x")


def captions(html: str) -> list[str]:
    """The index's app headings, in page order."""
    return re.findall(r'<caption>\s*<a href="[^"]*" class="section"[^>]*>([^<]*)</a>', html)


def test_the_header_and_title_name_the_desk_and_there_is_no_view_site_link(superuser) -> None:
    html = client_for(superuser).get(reverse("admin:index")).content.decode()

    assert '<div id="site-name"><a href="/admin/">kefu 售后</a></div>' in html
    assert "<title>售后工作台 | kefu 售后</title>" in html
    assert "Django" not in html
    assert "查看站点" not in html and 'href="/"' not in html


def test_the_site_name_is_the_shops_when_configured(superuser, settings) -> None:
    settings.KEFU_SITE_NAME = "糖果家居售后"

    html = client_for(superuser).get(reverse("admin:index")).content.decode()

    assert '<a href="/admin/">糖果家居售后</a>' in html


def test_change_is_djangos_xiugai_and_the_language_switcher_keeps_its_own_word(superuser) -> None:
    with translation.override("zh-hans"):
        assert translation.gettext("Change") == "修改"
        assert translation.pgettext("language switcher", "Change") == "切换"
    html = client_for(superuser).get(reverse("admin:orders_shop_add")).content.decode()
    assert '<noscript><button type="submit">切换</button></noscript>' in html
    index = client_for(superuser).get(reverse("admin:index")).content.decode()
    assert 'class="changelink"' in index and ">修改</a>" in index and ">切换</a>" not in index


def test_the_index_opens_with_the_tickets_and_ends_with_the_system_group_for_a_superuser(superuser) -> None:
    html = client_for(superuser).get(reverse("admin:index")).content.decode()

    headings = captions(html)
    assert headings[0] == "数据看板" and headings[1] == "售后单"
    assert headings[-1] == "系统"
    assert "周期任务" not in headings and "Axes" not in headings  # one group, not one per package
    system = html[html.index('href="/admin/system/"') :]
    assert "/admin/django_celery_beat/periodictask/" in system and "/admin/axes/accessattempt/" in system
    first_ticket_model = re.search(r'<th scope="row" id="tickets-([a-z]+)">', html)
    assert first_ticket_model and first_ticket_model.group(1) == "ticket"
    assert client_for(superuser).get(reverse("admin:system")).status_code == 200


def test_other_staff_neither_see_nor_open_the_infrastructure() -> None:
    supervisor = desk_user("supervisors", username="sup-sam")
    supervisor.user_permissions.add(*_all_permissions_of("django_celery_beat", "axes"))
    client = client_for(supervisor)

    html = client.get(reverse("admin:index")).content.decode()
    assert "系统" not in captions(html)
    assert "django_celery_beat" not in html and "/admin/axes/" not in html
    for url in (
        reverse("admin:django_celery_beat_periodictask_changelist"),
        reverse("admin:django_celery_beat_periodictask_add"),
        reverse("admin:axes_accessattempt_changelist"),
        reverse("admin:system"),
    ):
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("admin:app_list", args=["django_celery_beat"])).status_code == 404


def _all_permissions_of(*app_labels: str):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label__in=app_labels)


# Django's msgids kefu's catalogue translates too, with the same meaning in other words. Any other msgid of ours
# that Django also has must keep Django's translation: kefu's own meaning of a word gets a msgctxt.
SAME_MEANING = {"Email": "邮件", "Email address": "邮箱地址", "active": "启用"}


def test_kefus_catalogue_leaves_djangos_words_their_meaning() -> None:
    import gettext
    from pathlib import Path

    import django
    from django.conf import settings

    ours = gettext.GNUTranslations((Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.mo").open("rb"))
    changed = {}
    for mo in Path(django.__file__).parent.glob("**/locale/zh_Hans/LC_MESSAGES/django.mo"):
        djangos = gettext.GNUTranslations(mo.open("rb"))
        for msgid, theirs in djangos._catalog.items():  # type: ignore[attr-defined]
            mine = ours._catalog.get(msgid)  # type: ignore[attr-defined]
            if isinstance(msgid, str) and msgid and mine is not None and mine != theirs:
                changed[msgid] = (theirs, mine)
    assert {msgid: mine for msgid, (_, mine) in changed.items()} == SAME_MEANING, changed


def test_the_index_and_the_system_page_take_a_bounded_number_of_queries(
    superuser, django_assert_max_num_queries
) -> None:
    client = client_for(superuser)
    client.get(reverse("admin:index"))  # the first request of a process reads the content types once

    # session, user, the dashboard check's groups, the recent actions (Django's), nothing per app or model.
    with django_assert_max_num_queries(6):
        assert client.get(reverse("admin:index")).status_code == 200
    with django_assert_max_num_queries(4):
        assert client.get(reverse("admin:system")).status_code == 200


def test_a_page_rendered_without_the_admins_context_still_bears_the_sites_name(rf) -> None:
    """django-axes renders its lockout page with a context of its own: no Django default in the header."""
    from django.template.loader import render_to_string

    request = rf.get("/admin/login/")
    request.user = AnonymousUser()
    with translation.override("zh-hans"):
        html = render_to_string("admin/lockout.html", {"failure_limit": 10}, request)

    assert '<div id="site-name"><a href="/admin/">kefu 售后</a></div>' in html
    assert "Django" not in html
