"""zh-hans and en everywhere a person reads kefu: API refusals, state names, the admin, notification labels.

The msgids are the English texts, so English needs no catalogue; Chinese comes from
``locale/zh_Hans/LC_MESSAGES/django.po`` (compiled to ``django.mo``, which is committed). The catalogue tests
at the end fail when a string was added to the code without a translation, or translated without compiling:
run ``python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=tests``, translate the new
entries, then ``python manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=var``.
"""

from __future__ import annotations

import ast
import gettext as gnu_gettext
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kefu.core.vocabulary import state_label
from routing.models import Department, StaffMember
from tests.api.conftest import assert_error, storefront, url
from tests.factories.tickets import ticket_build, user_create
from tickets.models import Ticket, TicketEvent

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
CJK = re.compile(r"[\u4e00-\u9fff]")


def awaiting_return() -> Ticket:
    with transaction.atomic():  # routing locks rows
        return ticket_build("return", "awaiting_return")


# -- API refusals -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_refused_transition_is_explained_in_the_language_of_accept_language():
    shop = storefront("shop-i18n")
    ticket = shop.ticket("return", "return_in_transit")
    path = url("ticket-action", number=ticket.number, action="cancel")

    zh = assert_error(shop.client.post(path, HTTP_ACCEPT_LANGUAGE="zh-hans"), 409, "transition_not_allowed", None)
    en = assert_error(shop.client.post(path, HTTP_ACCEPT_LANGUAGE="en"), 409, "transition_not_allowed", None)

    # The state codes stay as integrations know them; the sentence and the state's name are Chinese.
    assert ticket.number in zh["message"] and "售后单" in zh["message"] and "退货在途" in zh["message"], zh
    assert "only possible" not in zh["message"], zh
    assert ticket.number in en["message"] and "Return in transit" in en["message"], en
    assert not CJK.search(en["message"]), en


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "订单 {order} 中没有 SKU 为“NOPE”的商品行。"),
        ("zh-CN,zh;q=0.9", "订单 {order} 中没有 SKU 为“NOPE”的商品行。"),
        ("en", "Order {order} has no line with SKU 'NOPE'."),
        ("en-US,en;q=0.9", "Order {order} has no line with SKU 'NOPE'."),
    ],
)
def test_a_refused_opening_is_explained_in_the_language_of_accept_language(language, expected):
    shop = storefront("shop-i18n")
    order = shop.order()
    body = {"order_number": order.number, "lines": [{"sku": "NOPE", "quantity": 1}], "reason": "seven_days_no_reason"}

    response = shop.client.post(url("return-open"), body, format="json", HTTP_ACCEPT_LANGUAGE=language)

    error = assert_error(response, 400, "invalid_lines", "lines[0].sku")
    assert error["message"] == expected.format(order=order.number)


# -- labels -------------------------------------------------------------------------------------------------


def test_state_names_follow_the_active_language():
    with translation.override("zh-hans"):
        assert state_label("return", "awaiting_return") == "待寄回"
        assert state_label("return", "refund_pending") == "待退款"
        assert state_label("exchange", "arbitration") == "仲裁中"
    with translation.override("en"):
        assert state_label("return", "awaiting_return") == "Awaiting return"
        assert state_label("exchange", "arbitration") == "Arbitration"


@pytest.mark.django_db
def test_notification_labels_come_out_in_the_recipients_language():
    from notifications.services import message_context

    ticket = awaiting_return()
    ticket.department = "warehouse"  # as after an escalation back to the warehouse
    event = TicketEvent(event_type="comment", reason="")
    with translation.override("zh-hans"):
        zh = message_context(ticket, event)
    with translation.override("en"):
        en = message_context(ticket, event)
    assert (zh["ticket"]["kind_label"], zh["ticket"]["state_label"]) == ("退货退款", "待寄回")
    assert (en["ticket"]["kind_label"], en["ticket"]["state_label"]) == ("Return / refund", "Awaiting return")
    assert (zh["department"], en["department"]) == ("仓库", "Warehouse")


# -- the admin ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-CN,zh;q=0.9", ["用户名", "密码", "登录"]),
        ("en", ["Username", "Password", "Log in"]),
    ],
)
def test_the_admin_login_page_follows_the_browser(language, words):
    page = Client(HTTP_ACCEPT_LANGUAGE=language).get(reverse("admin:login")).content.decode()
    for word in words:
        assert word in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "some_headers", "state"),
    [
        ("zh-hans", ["状态", "部门", "处理人", "优先级"], "待寄回"),
        ("en", ["State", "Department", "Assignee", "Priority"], "Awaiting return"),
    ],
)
def test_the_ticket_list_speaks_the_browsers_language(language, some_headers, state):
    awaiting_return()
    supervisor = user_create("sup-i18n", is_staff=True, is_superuser=True)
    StaffMember.objects.create(user=supervisor, on_duty=False).departments.set(
        Department.objects.filter(code="supervisors")
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(supervisor)

    page = client.get(reverse("admin:tickets_ticket_changelist")).content.decode()

    cells = re.findall(r'<div class="text">(.*?)</div>', page, re.S)
    headers = [h for h in (re.sub(r"<[^>]+>", "", cell).strip() for cell in cells) if h]
    assert set(some_headers) <= set(headers), headers
    if language == "zh-hans":  # no column left in English
        assert all(CJK.search(h) for h in headers), headers
    else:
        assert not any(CJK.search(h) for h in headers), headers
    assert state in page


# -- the catalogue ------------------------------------------------------------------------------------------


def po_entries(text: str) -> list[dict]:
    """The entries of a .po file: flags, msgctxt, msgid, msgid_plural and the msgstr values (no polib needed)."""
    entries = []
    for block in re.split(r"\n\s*\n", text.strip()):
        entry: dict = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": [], "obsolete": False}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif m := re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line):
                key = m.group(1)
                value = ast.literal_eval(m.group(2))
                if key.startswith("msgstr"):
                    entry["msgstr"].append(value)
                else:
                    entry[key] = value
            elif line.startswith('"') and key:
                value = ast.literal_eval(line)
                if key.startswith("msgstr"):
                    entry["msgstr"][-1] += value
                else:
                    entry[key] += value
        if "msgid" in entry:
            entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalogue() -> list[dict]:
    entries = po_entries(PO.read_text(encoding="utf-8"))
    assert entries and entries[0]["msgid"] == "", "the header comes first"
    return [e for e in entries[1:] if not e["obsolete"]]


def test_every_entry_of_the_catalogue_is_translated_and_none_is_fuzzy(catalogue):
    untranslated = [e["msgid"] for e in catalogue if not e["msgstr"] or not all(e["msgstr"])]
    fuzzy = [e["msgid"] for e in catalogue if "fuzzy" in e["flags"]]
    assert not untranslated, f"untranslated msgids in {PO}: {untranslated}"
    assert not fuzzy, f"fuzzy msgids in {PO} (check the translation, then remove the flag): {fuzzy}"
    assert len(catalogue) > 500


def test_the_compiled_catalogue_matches_the_po_file(catalogue):
    """django.mo is what Django reads: a translation edited in the .po but not compiled would not show."""
    with MO.open("rb") as f:
        compiled = gnu_gettext.GNUTranslations(f)
    stale = []
    for e in catalogue:
        if e["msgid_plural"] is not None:
            got = (
                compiled.npgettext(e["msgctxt"], e["msgid"], e["msgid_plural"], 1)
                if e["msgctxt"]
                else compiled.ngettext(e["msgid"], e["msgid_plural"], 1)
            )
        else:
            got = compiled.pgettext(e["msgctxt"], e["msgid"]) if e["msgctxt"] else compiled.gettext(e["msgid"])
        if got != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert not stale, f"{MO} is older than {PO}; run compilemessages. Differs for: {stale[:10]}"


GETTEXT_FUNCTIONS = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}
SKIPPED_DIRS = {".venv", "var", "tests", "migrations", "node_modules", "__pycache__"}


def _source_files(suffix: str) -> list[Path]:
    """The project's files makemessages reads (the same folders left out as in the command above)."""
    found = []
    for folder, subfolders, files in os.walk(settings.BASE_DIR):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_DIRS and not d.startswith(".")]
        found += [Path(folder) / name for name in files if name.endswith(suffix)]
    return found


def _python_msgids() -> set[tuple[str | None, str]]:
    found = set()
    for path in _source_files(".py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in GETTEXT_FUNCTIONS:
                continue
            context_at, msgid_at = GETTEXT_FUNCTIONS[name]
            args = node.args
            if len(args) <= msgid_at or not all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args[: msgid_at + 1]
            ):
                continue
            context = args[context_at].value if context_at is not None else None
            found.add((context, args[msgid_at].value))
    return found


def _template_msgids() -> set[tuple[str | None, str]]:
    tag = re.compile(
        r"""\{%\s*(?:translate|trans)\s+(["'])(.+?)\1\s*(?:context\s+(["'])(.+?)\3\s*)?(?:as\s+\w+\s*)?%\}"""
    )
    found = set()
    for path in _source_files(".html"):
        for m in tag.finditer(path.read_text(encoding="utf-8")):
            found.add((m.group(4), m.group(2).replace("%", "%%")))  # as makemessages writes a template's msgid
    return found


def test_every_string_marked_for_translation_is_in_the_catalogue(catalogue):
    """A string wrapped in gettext (Python) or {% translate %} (templates) that makemessages has not collected
    would show in English to a Chinese user."""
    known = {(e["msgctxt"], e["msgid"]) for e in catalogue}
    marked = _python_msgids() | _template_msgids()
    assert len(marked) > 300
    missing = sorted(m for m in marked if m[1] and m not in known)
    assert not missing, f"not in {PO} (run makemessages, translate, compilemessages): {missing}"
