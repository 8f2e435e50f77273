"""Evidence and its files (issue 12, "Evidence and personal data").

Served only through the scoped views (the storefront's shop key: the buyer's public evidence; staff: their
departments' tickets; the admin's ticket page), never from MEDIA; every download is an attachment with the
sniffed type, ``nosniff`` and an RFC 6266 ``filename*``. Names that disagree with the content, files that are
also something else (polyglots), SVG/HTML and names with control or bidi characters are refused with a clear
code, in the caller's language. Files go to a temporary MEDIA_ROOT (tests/api/conftest.py).
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from kefu.core.evidence_files import display_name, name_is_unsafe
from tests.admin.conftest import desk_user, logged_in
from tests.api.conftest import assert_error, staff, url
from tests.api.test_uploads import JPEG, MP4, PNG, stored_files, upload
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def download(client, path: str, **headers):
    response = client.get(path, **headers)
    body = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return response, body


# -- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        ("photo.png", JPEG, 415, "file_name_mismatch"),  # a JPEG named .png
        ("evil.html", PNG + b"<script>alert(1)</script>", 415, "file_name_mismatch"),
        ("cat.jpg", JPEG + b"<html><script>alert(document.cookie)</script></html>", 415, "polyglot_file"),
        ("cat.jpg", JPEG + b"\x00" * 64 + b'<SVG onload="alert(1)">', 415, "polyglot_file"),
        ("cat.jpg", JPEG + b"\x00" * 64 + zip_bytes(), 415, "polyglot_file"),  # a JPEG that is also a ZIP
        ("cat.png", PNG[:16] + b"%PDF-1.7\n" + PNG[16:], 415, "polyglot_file"),
        ("clip.mp4", MP4 + b"\x00" * 64 + b"<iframe src=//x>", 415, "polyglot_file"),
        (
            "drawing.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            415,
            "unsupported_media_type",
        ),
        ("page.jpg", b"<!DOCTYPE html><html><body>hi</body></html>", 415, "unsupported_media_type"),
        # Reads as "invoiceexe.jpg"; Django's multipart parser drops the invisible character, then the name's
        # real extension is refused.
        ("invoice\u202egpj.exe", JPEG, 415, "file_name_mismatch"),
    ],
    ids=[
        "jpeg-named-png",
        "png-named-html",
        "jpeg-with-html",
        "jpeg-with-svg-script",
        "jpeg-with-zip",
        "png-with-pdf-header",
        "mp4-with-iframe",
        "svg",
        "html",
        "bidi-override",
    ],
)
def test_unsafe_files_are_refused_and_nothing_is_stored(shop_a, name, content, status, code):
    ticket = shop_a.ticket("return", "requested")
    assert_error(upload(shop_a, ticket, name, content, "image/jpeg"), status, code, "file")
    assert not Attachment.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("zh-hans", ["文件名", "内容"]),
        ("en", ["named “photo.png” but its content is image/jpeg", "jfif, jpe, jpeg, jpg"]),
    ],
)
def test_a_refusal_is_explained_in_the_caller_s_language(shop_a, language, words):
    ticket = shop_a.ticket("return", "requested")
    path = url("ticket-evidence", number=ticket.number)
    response = shop_a.client.post(
        path,
        {"file": SimpleUploadedFile("photo.png", JPEG, "image/png")},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    body = assert_error(response, 415, "file_name_mismatch", "file")
    for word in words:
        assert word in body["message"], body["message"]
    polyglot = shop_a.client.post(
        path,
        {"file": SimpleUploadedFile("cat.jpg", JPEG + b"<script>", "image/jpeg")},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    message = assert_error(polyglot, 415, "polyglot_file", "file")["message"]
    assert ("网页" in message) if language == "zh-hans" else ("web page, script, archive or PDF" in message)


def test_invisible_characters_never_reach_a_stored_or_offered_name(shop_a):
    ticket = shop_a.ticket("return", "requested")
    for name in ("photo\u200b.jpg", "a\u202egnp.jpg"):
        response = upload(shop_a, ticket, name, JPEG, "image/jpeg")
        assert response.status_code == 201, response.content
        assert not name_is_unsafe(response.json()["name"])
    # A name from before these checks is cleaned when offered, and gets the content's extension.
    assert display_name("invoice\u202egpj.exe", "image/jpeg") == "invoicegpj.jpg"
    assert display_name("../../etc/passwd", "image/png") == "_.._etc_passwd.png"
    assert name_is_unsafe("invoice\u202egpj.exe") and name_is_unsafe("a\x00b") and not name_is_unsafe("划痕 照片.jpg")


# -- downloads ----------------------------------------------------------------------------------------------


def test_the_buyer_s_shop_downloads_its_evidence_as_an_attachment(shop_a):
    ticket = shop_a.ticket("return", "requested")
    created = upload(shop_a, ticket, "划痕 照片.jpg", JPEG, "image/jpeg")
    assert created.status_code == 201, created.content
    link = created.json()["url"]
    assert link == url("ticket-evidence-file", number=ticket.number, attachment_id=created.json()["id"])
    assert not link.startswith(django_settings.MEDIA_URL) and "media" not in link

    response, body = download(shop_a.client, link)
    assert response.status_code == 200
    assert body == JPEG
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert "%E5%88%92%E7%97%95%20%E7%85%A7%E7%89%87.jpg" in response["Content-Disposition"]
    assert "sandbox" in response["Content-Security-Policy"]

    listed = shop_a.client.get(url("ticket-evidence", number=ticket.number))
    assert [row["url"] for row in listed.json()] == [link]


def test_another_shop_internal_evidence_and_no_key_get_nothing(shop_a, shop_b):
    ticket = shop_a.ticket("return", "requested")
    link = upload(shop_a, ticket, "a.png", PNG, "image/png").json()["url"]
    assert_error(shop_b.client.get(link), 404, "not_found")
    assert Client().get(link).status_code in (401, 403)
    Attachment.objects.update(public=False)  # an internal attachment (staff's)
    assert_error(shop_a.client.get(link), 404, "not_found")
    assert shop_a.client.get(url("ticket-evidence", number=ticket.number)).json() == []


def test_staff_download_the_evidence_of_the_tickets_they_see_only(shop_a):
    ticket = shop_a.ticket("return", "requested")  # the operations department's
    upload(shop_a, ticket, "a.png", PNG, "image/png")
    Attachment.objects.update(public=False)
    ops = staff("operations")
    listed = ops.client.get(url("staff-ticket-evidence", number=ticket.number))
    assert listed.status_code == 200, listed.content
    [row] = listed.json()
    assert row["public"] is False
    response, body = download(ops.client, row["url"])
    assert (response.status_code, body, response["Content-Type"]) == (200, PNG, "image/png")
    assert response["Content-Disposition"] == 'attachment; filename="a.png"'
    assert_error(staff("warehouse").client.get(row["url"]), 404, "not_found")


def test_media_is_not_served_by_url_even_in_debug(shop_a):
    ticket = shop_a.ticket("return", "requested")
    upload(shop_a, ticket, "a.png", PNG, "image/png")
    stored = Attachment.objects.get().file.name
    with override_settings(DEBUG=True):
        assert Client().get(f"/{django_settings.MEDIA_URL}{stored}").status_code == 404


def test_the_admin_page_links_evidence_through_the_scoped_view(shop_a):
    ticket = shop_a.ticket("return", "requested")
    upload(shop_a, ticket, "a.png", PNG, "image/png")
    attachment = Attachment.objects.get()
    view = reverse("admin:tickets_ticket_evidence", args=[ticket.pk, attachment.pk])

    ops = logged_in(desk_user("operations"))
    page = ops.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert f'src="{view}"' in page and attachment.file.name not in page
    response, body = download(ops, view)
    assert (response.status_code, body, response["X-Content-Type-Options"]) == (200, PNG, "nosniff")
    assert logged_in(desk_user("warehouse")).get(view).status_code == 404


# -- stored files -------------------------------------------------------------------------------------------


def test_files_stored_under_the_uploader_s_name_move_to_a_random_name(shop_a):
    ticket = shop_a.ticket("return", "requested")
    old = default_storage.save(f"evidence/2026/01/{ticket.pk}/receipt.jpg", ContentFile(JPEG))
    kept = Attachment.objects.create(
        ticket=ticket,
        file=old,
        original_name="receipt.jpg",
        content_type="image/jpeg",
        size=len(JPEG),
        actor_kind="buyer",
        actor_name="b",
    )
    missing = Attachment.objects.create(
        ticket=ticket,
        file="evidence/gone.jpg",
        original_name="gone.jpg",
        content_type="image/jpeg",
        size=1,
        actor_kind="buyer",
        actor_name="b",
    )
    migration = importlib.import_module("tickets.migrations.0009_evidence_random_names")
    migration.rename(django_apps, None)

    kept.refresh_from_db()
    new = Path(kept.file.name)
    assert new.suffix == ".jpg" and len(new.stem) == 32 and "receipt" not in kept.file.name
    assert default_storage.open(kept.file.name).read() == JPEG
    assert not default_storage.exists(old)
    missing.refresh_from_db()
    assert missing.file.name == "evidence/gone.jpg"
    response, body = download(shop_a.client, url("ticket-evidence-file", number=ticket.number, attachment_id=kept.pk))
    assert (response.status_code, body) == (200, JPEG)
    assert 'filename="receipt.jpg"' in response["Content-Disposition"]


def test_object_storage_is_a_setting():
    """KEFU_EVIDENCE_STORAGE=s3 puts evidence in a private S3/OSS bucket through django-storages (no network here:
    the storage is only built)."""
    code = (
        "import django; django.setup();"
        "from django.core.files.storage import storages; s = storages['default'];"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.default_acl, s.querystring_auth, s.file_overwrite)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kefu.settings",
        "KEFU_EVIDENCE_STORAGE": "s3",
        "KEFU_EVIDENCE_BUCKET": "kefu-evidence",
        "KEFU_EVIDENCE_S3_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
        "KEFU_EVIDENCE_S3_ADDRESSING_STYLE": "virtual",
    }
    env.pop("KEFU_EVIDENCE_S3_REGION", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "S3Storage",
        "kefu-evidence",
        "https://oss-cn-hangzhou.aliyuncs.com",
        "private",
        "True",
        "False",
    ]
    env["KEFU_EVIDENCE_STORAGE"] = "ftp"
    refused = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "KEFU_EVIDENCE_STORAGE must be 'local' or 's3'" in refused.stderr
