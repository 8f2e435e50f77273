"""Evidence uploads: the type is read from the file's first bytes, never from its name or header."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from api.errors import ApiError

IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp"}
VIDEO_TYPES = {"video/mp4"}
MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
    b"3gp4",
    b"3gp5",
}


def sniff(head: bytes) -> str | None:
    """The media type the content is, from its magic numbers; None when it is none we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in MP4_BRANDS:
        return "video/mp4"
    return None


def check_upload(upload: UploadedFile, *, existing: int) -> str:
    """The upload's real type, after the count and size limits; refusals are 413/415 with a clear code."""
    if existing >= settings.KEFU_EVIDENCE_MAX_FILES:
        raise ApiError(
            status_code=409,
            code="too_many_files",
            message=_("A ticket holds at most %(n)d pieces of evidence.") % {"n": settings.KEFU_EVIDENCE_MAX_FILES},
            field="file",
        )
    head = upload.read(32)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise ApiError(
            status_code=415,
            code="unsupported_media_type",
            message=_("Evidence must be a JPEG, PNG or WebP image or an MP4 video (checked from the content)."),
            field="file",
        )
    limit = (
        settings.KEFU_EVIDENCE_MAX_VIDEO_BYTES
        if content_type in VIDEO_TYPES
        else settings.KEFU_EVIDENCE_MAX_IMAGE_BYTES
    )
    if upload.size > limit:
        raise ApiError(
            status_code=413,
            code="file_too_large",
            message=_("This %(type)s is %(size)d bytes; the limit is %(limit)d bytes.")
            % {"type": content_type, "size": upload.size, "limit": limit},
            field="file",
        )
    if upload.size == 0:
        raise ApiError(status_code=400, code="empty_file", message=_("The file is empty."), field="file")
    return content_type
