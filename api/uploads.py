"""Evidence uploads: the type is read from the file's content (``filetype``), never from its name or header; names
that disagree with the content or hide characters, and files that are also something else, are refused
(kefu.core.evidence_files says what each check looks for)."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from api.errors import ApiError
from kefu.core.evidence_files import (
    NAME_EXTENSIONS,
    SNIFF_BYTES,
    VIDEO_TYPES,
    is_polyglot,
    name_is_unsafe,
    name_matches,
    sniff,
)


def check_upload(upload: UploadedFile, *, existing: int) -> str:
    """The upload's real type, after the count and size limits; refusals are 413/415 with a clear code."""
    if existing >= settings.KEFU_EVIDENCE_MAX_FILES:
        raise ApiError(
            status_code=409,
            code="too_many_files",
            message=_("A ticket holds at most %(n)d pieces of evidence.") % {"n": settings.KEFU_EVIDENCE_MAX_FILES},
            field="file",
        )
    name = upload.name or ""
    if name_is_unsafe(name):
        raise ApiError(
            status_code=400,
            code="unsafe_file_name",
            message=_(
                "The file name contains control or text-direction characters; rename the file and send it again."
            ),
            field="file",
        )
    head = upload.read(SNIFF_BYTES)
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
    if not name_matches(name, content_type):
        raise ApiError(
            status_code=415,
            code="file_name_mismatch",
            message=_(
                "The file is named “%(name)s” but its content is %(type)s; name it with a matching extension "
                "(%(extensions)s) or send the right file."
            )
            % {"name": name, "type": content_type, "extensions": ", ".join(sorted(NAME_EXTENSIONS[content_type]))},
            field="file",
        )
    if is_polyglot(upload, size=upload.size or 0, content_type=content_type):
        raise ApiError(
            status_code=415,
            code="polyglot_file",
            message=_(
                "The file is not only %(type)s: it also holds web page, script, archive or PDF content. "
                "Send the photo or video itself."
            )
            % {"type": content_type},
            field="file",
        )
    return content_type
