"""Evidence uploads: the type comes from the content's magic numbers (never the name or the header), images
and videos have their own size limits, a ticket holds a limited number of files, and a refused upload leaves
no row and no file behind. Files go to a temporary MEDIA_ROOT (tests/api/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.api.conftest import assert_error, url
from tickets.models import Attachment, EventType, TicketEvent

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
WEBP = b"RIFF\xd0\x00\x00\x00WEBPVP8 " + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 200
TEXT = "这不是图片, just text pretending to be a photo.\n".encode() * 5


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(shop, ticket, name: str, content: bytes, content_type: str):
    path = url("ticket-evidence", number=ticket.number)
    return shop.client.post(path, {"file": SimpleUploadedFile(name, content, content_type)}, format="multipart")


def test_a_png_is_stored_as_png_whatever_type_the_request_declares(shop_a):
    ticket = shop_a.ticket("return", "requested")
    response = upload(shop_a, ticket, "photo.png", PNG, "image/jpeg")
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == "image/png"
    assert (response.json()["name"], response.json()["size"]) == ("photo.png", len(PNG))
    attachment = Attachment.objects.get(ticket_id=ticket.pk)
    assert attachment.content_type == "image/png"
    [stored] = stored_files()
    assert stored.read_bytes() == PNG
    event = TicketEvent.objects.get(ticket_id=ticket.pk, event_type=EventType.EVIDENCE)
    assert event.public and event.payload["type"] == "image/png"


def test_the_stored_file_gets_a_random_name_with_the_extension_of_its_real_type(shop_a):
    """The uploader's name is kept for display only; the storage name cannot be guessed from it."""
    ticket = shop_a.ticket("return", "requested")
    response = upload(shop_a, ticket, "我的照片", PNG, "application/octet-stream")
    assert response.status_code == 201, response.content
    [stored] = stored_files()
    assert stored.suffix == ".png" and len(stored.stem) == 32 and int(stored.stem, 16) >= 0
    assert Attachment.objects.get().original_name == "我的照片"


@pytest.mark.parametrize(
    ("name", "content", "declared", "sniffed"),
    [
        ("a.jpg", JPEG, "image/jpeg", "image/jpeg"),
        ("a.webp", WEBP, "image/webp", "image/webp"),
        ("clip.mp4", MP4, "video/mp4", "video/mp4"),
        ("clip.MP4", MP4, "application/octet-stream", "video/mp4"),
        ("photo.JPEG", JPEG, "application/octet-stream", "image/jpeg"),
        ("noext", WEBP, "application/octet-stream", "image/webp"),
    ],
)
def test_accepted_types_are_read_from_the_content(shop_a, name, content, declared, sniffed):
    ticket = shop_a.ticket("complaint", "open")
    response = upload(shop_a, ticket, name, content, declared)
    assert response.status_code == 201, response.content
    assert response.json()["content_type"] == sniffed
    assert Attachment.objects.get().content_type == sniffed


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("photo.jpg", TEXT, "image/jpeg"),
        ("photo.png", b"GIF89a" + b"\x00" * 100, "image/png"),
        ("movie.mp4", b"\x00\x00\x00\x14ftypqt  " + b"\x00" * 100, "video/mp4"),  # QuickTime, not MP4
        ("page.html", b"<html><body>hi</body></html>", "text/html"),
        ("empty.jpg", b"", "image/jpeg"),
    ],
)
def test_other_content_is_refused_with_415(shop_a, name, content, declared):
    ticket = shop_a.ticket("return", "requested")
    assert_error(upload(shop_a, ticket, name, content, declared), 415, "unsupported_media_type", "file")
    assert not Attachment.objects.exists()
    assert stored_files() == []
    assert not TicketEvent.objects.filter(event_type=EventType.EVIDENCE).exists()


def test_images_and_videos_have_their_own_size_limit(shop_a, settings):
    settings.KEFU_EVIDENCE_MAX_IMAGE_BYTES = len(PNG)
    settings.KEFU_EVIDENCE_MAX_VIDEO_BYTES = len(MP4) + 1000
    ticket = shop_a.ticket("return", "requested")
    assert upload(shop_a, ticket, "exact.png", PNG, "image/png").status_code == 201
    body = assert_error(upload(shop_a, ticket, "big.png", PNG + b"\x00", "image/png"), 413, "file_too_large", "file")
    assert str(len(PNG)) in body["message"]
    assert upload(shop_a, ticket, "clip.mp4", MP4 + b"\x00" * 900, "video/mp4").status_code == 201
    assert_error(upload(shop_a, ticket, "long.mp4", MP4 + b"\x00" * 1001, "video/mp4"), 413, "file_too_large", "file")
    assert Attachment.objects.count() == 2 and len(stored_files()) == 2


def test_a_ticket_holds_a_limited_number_of_files(shop_a, settings):
    settings.KEFU_EVIDENCE_MAX_FILES = 2
    ticket = shop_a.ticket("return", "requested")
    other = shop_a.ticket("return", "requested")
    assert upload(shop_a, ticket, "1.png", PNG, "image/png").status_code == 201
    assert upload(shop_a, ticket, "2.jpg", JPEG, "image/jpeg").status_code == 201
    assert_error(upload(shop_a, ticket, "3.png", PNG, "image/png"), 409, "too_many_files", "file")
    assert Attachment.objects.filter(ticket_id=ticket.pk).count() == 2
    assert upload(shop_a, other, "1.png", PNG, "image/png").status_code == 201  # the limit is per ticket


def test_the_file_must_come_as_the_multipart_field_file(shop_a):
    ticket = shop_a.ticket("return", "requested")
    path = url("ticket-evidence", number=ticket.number)
    wrong_field = {"photo": SimpleUploadedFile("a.png", PNG, "image/png")}
    assert_error(shop_a.client.post(path, wrong_field, format="multipart"), 400, "field_required", "file")
    assert_error(shop_a.client.post(path, {"file": "x"}, format="json"), 415, "unsupported_media_type")
    assert not Attachment.objects.exists()


def test_an_upload_to_another_shops_ticket_stores_nothing(shop_a, shop_b):
    ticket = shop_a.ticket("return", "requested")
    assert_error(upload(shop_b, ticket, "a.png", PNG, "image/png"), 404, "not_found")
    assert stored_files() == [] and not Attachment.objects.exists()
