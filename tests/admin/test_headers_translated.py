"""Every admin page a staff member opens in zh-hans has its headings in Chinese: the column headers of every
changelist, the filters' and fieldsets' headings, the page titles and the form labels of every change page.

A real guard, not a list of known strings: every registered model's changelist and one change page (its first
row in the demo data, or the add page when it has none) is rendered, and any heading whose text is plain
English words fails the test, naming the page and the text. Acronyms (SKU, URL, API) and numbers pass.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import translation

from desk.demo.risk import risk_cases
from desk.demo.scenarios import Demo
from desk.demo.setup import DEMO_USERNAME, users_ensure

pytestmark = pytest.mark.django_db

# A word of English prose: three letters or more with a lowercase letter (acronyms such as SKU, URL, API and
# codes such as TB20261207 are not prose).
ENGLISH_WORD = re.compile(r"\b[A-Za-z]*[a-z][A-Za-z]{2,}\b")
# Names that stay as they are in Chinese too: brands and products, not words to translate.
PROPER_NAMES = {"Alipay", "WeChat", "Taobao", "Tmall", "Pinduoduo", "Celery", "Axes", "Crontab", "Solar"}


class Headings(HTMLParser):
    """Collects the text of headings: h1–h3, captions, column and row headings (``thead th``, ``th scope=row``)
    and form labels, and the page's <title>."""

    HEADINGS = {"h1", "h2", "h3", "label", "caption", "title"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.texts: list[tuple[str, str]] = []
        self.current: list[list[str]] = []
        self.in_thead = 0
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in {"script", "style", "select", "option", "textarea"}:
            self.skip_depth += 1
        if tag == "thead":
            self.in_thead += 1
        # Row headings too: the index's model names (``th scope="row"``); a changelist's first cell is data.
        heading = tag in self.HEADINGS or (tag == "th" and (self.in_thead or attributes.get("scope") == "row"))
        self.stack.append(tag)
        self.current.append([] if heading else ["\0"])

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "select", "option", "textarea"}:
            self.skip_depth = max(0, self.skip_depth - 1)
        if tag == "thead":
            self.in_thead -= 1
        while self.stack:
            open_tag = self.stack.pop()
            parts = self.current.pop()
            if parts and parts[0] != "\0":
                text = " ".join("".join(parts).split())
                if text:
                    self.texts.append((open_tag, text))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        for parts in self.current:
            if not parts or parts[0] != "\0":
                parts.append(data)


def english_headings(html: str) -> list[str]:
    parser = Headings()
    parser.feed(html)
    # A change page's subtitle is the object's name (data): Django puts it first in the <title> ("subtitle | title |
    # site") and in an <h2> under the <h1>.
    titles = [text for tag, text in parser.texts if tag == "title"]
    parts = titles[0].split(" | ") if titles else []
    subtitle = parts[0] if len(parts) == 3 else None
    found = []
    for tag, text in parser.texts:
        if tag == "title" or (tag == "h2" and text == subtitle):
            continue
        words = [word for word in ENGLISH_WORD.findall(text) if word not in PROPER_NAMES]
        if words and not re.search(r"[\u4e00-\u9fff]", text):
            found.append(f"<{tag}> {text!r}")
    return found


def admin_pages() -> list[tuple[str, str]]:
    """(name, url) of every registered model's changelist and of one of its change pages (or its add page)."""
    pages = []
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        pages.append((f"{info[0]}.{info[1]} list", reverse("admin:{}_{}_changelist".format(*info))))
        row = model._default_manager.order_by("pk").first()
        try:
            if row is not None:
                pages.append((f"{info[0]}.{info[1]} page", reverse("admin:{}_{}_change".format(*info), args=[row.pk])))
            else:
                pages.append((f"{info[0]}.{info[1]} add", reverse("admin:{}_{}_add".format(*info))))
        except NoReverseMatch:
            pass
    return pages


@pytest.fixture
def demo_admin(settings, tmp_path) -> Client:
    """The demo's data (without its history) and its superuser, logged in with a browser asking for zh-hans."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo = Demo(users=users_ensure())
    demo.build()
    risk_cases(demo)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(get_user_model().objects.get(username=DEMO_USERNAME))
    return client


def test_every_admin_heading_is_translated_in_zh_hans(demo_admin: Client) -> None:
    untranslated = {}
    pages = admin_pages() + [("index", reverse("admin:index")), ("system", reverse("admin:system"))]
    for name, url in pages:
        response = demo_admin.get(url)
        assert response.status_code in (200, 302, 403), f"{name} {url}: {response.status_code}"
        if response.status_code != 200:  # a page that leads elsewhere, or one nobody adds to (the delivery log)
            continue
        found = english_headings(response.content.decode())
        if found:
            untranslated[f"{name} {url}"] = found
    assert not untranslated, "\n".join(f"{page}: {', '.join(texts)}" for page, texts in untranslated.items())


def test_every_column_header_is_translated_even_on_an_empty_list(rf, admin_user) -> None:
    """The column headers of every changelist, read from its list_display as Django reads them, so a list with no
    rows yet (where the page shows no header at all) is checked too."""
    request = rf.get("/admin/")
    request.user = admin_user
    untranslated = []
    with translation.override("zh-hans"):
        for model, model_admin in admin.site._registry.items():
            for name in model_admin.get_list_display(request):
                if name == "action_checkbox":
                    continue
                text = str(label_for_field(name, model, model_admin))
                if english_headings(f"<h1>{text}</h1>"):
                    untranslated.append(f"{model._meta.label}.{name}: {text!r}")
    assert not untranslated, "\n".join(untranslated)


def test_the_guard_sees_an_english_column_header() -> None:
    html = "<table><thead><tr><th>售后单</th><th><a>Created by</a></th></tr></thead><tbody><tr><th>admin</th></tr>"
    assert english_headings(html) == ["<th> 'Created by'"]
    change_page = "<title>admin | 修改 用户 | kefu 售后</title><h1>修改 用户</h1><h2>admin</h2><label>SKU:</label>"
    assert english_headings(change_page) == []
    changelist = "<title>选择 用户 来修改 | kefu 售后</title><h1>选择</h1><h2>Filter</h2>"
    assert english_headings(changelist) == ["<h2> 'Filter'"]
