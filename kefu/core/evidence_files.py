"""Evidence files (photos, videos): what is accepted, and how a stored file is handed back to a person.

Accepted: JPEG, PNG and WebP images and MP4 videos, recognised from their content by ``filetype`` (never from
the name or the declared type). Refused, each with its own code:

- ``unsupported_media_type``: anything else, SVG and HTML included (they can carry scripts);
- ``file_name_mismatch``: a name whose extension says another type than the content (``photo.png`` that is a
  JPEG, ``evil.html`` that starts like a PNG); a name without an extension is fine;
- ``unsafe_file_name``: a name with control or bidirectional-override characters (U+202E makes
  ``invoice‮gpj.exe`` read as ``invoiceexe.jpg``);
- ``polyglot_file``: a file that is also something else: HTML or script markup anywhere in an image, or at either
  end of a video, a ZIP archive's directory at its end, or a PDF header.

Served: only through the authenticated views (api, desk), which apply the ticket's scoping and answer with
``file_response``: ``Content-Disposition: attachment`` with an RFC 6266 ``filename*``, the sniffed type,
``X-Content-Type-Options: nosniff`` and a sandboxing CSP. The file is streamed from whatever storage holds it
(``STORAGES["default"]``: local disk or S3/OSS through django-storages), so no storage URL is ever handed out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import IO

import filetype  # type: ignore[import-untyped]
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from kefu.core.errors import DomainError

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4"})
EVIDENCE_TYPES = IMAGE_TYPES | VIDEO_TYPES
# The extension a stored file gets, and those a name may have, per accepted type.
STORED_EXTENSION = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "video/mp4": ".mp4"}
NAME_EXTENSIONS = {
    "image/jpeg": frozenset({"jpg", "jpeg", "jpe", "jfif"}),
    "image/png": frozenset({"png"}),
    "image/webp": frozenset({"webp"}),
    "video/mp4": frozenset({"mp4", "m4v"}),
}
SNIFF_BYTES = 8192
# Where a video is searched for foreign content: its first and last bytes (where browsers, archive and PDF
# readers look); an image is searched whole (its size limit is small).
VIDEO_SCAN_BYTES = 1024 * 1024
# Markup a browser or an interpreter would act on. Checked case-insensitively.
MARKUP = re.compile(
    rb"<\s*(?:script|html|body|head|svg|iframe|object|embed|!doctype|\?php|meta\s+http-equiv)\b|javascript:",
    re.IGNORECASE,
)
ZIP_END = b"PK\x05\x06"  # a ZIP reader looks for its end-of-directory record in the last 64 KiB + 22 bytes
ZIP_TAIL = 65_557
PDF_HEAD = b"%PDF-"  # PDF readers accept the header anywhere in the first 1024 bytes
# Control characters (Cc), format characters such as bidirectional overrides and zero-width joiners (Cf),
# and line/paragraph separators: none belongs in a file name.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")


def sniff(head: bytes) -> str | None:
    """The accepted media type the content is, from its first bytes; None for anything else."""
    kind = filetype.guess(head)
    return kind.mime if kind is not None and kind.mime in EVIDENCE_TYPES else None


def name_is_unsafe(name: str) -> bool:
    """Whether the name holds control, bidirectional-override or other invisible format characters."""
    return any(unicodedata.category(ch) in UNSAFE_CATEGORIES for ch in name)


def name_extension(name: str) -> str:
    """The name's extension in lower case: what follows its last dot if that is 1 to 8 letters and digits."""
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    found = EXTENSION.search(base)
    return found.group(1).lower() if found and found.start() > 0 else ""


def name_matches(name: str, content_type: str) -> bool:
    """Whether the name's extension, if it has one, is one of the content's."""
    extension = name_extension(name)
    return not extension or extension in NAME_EXTENSIONS.get(content_type, frozenset())


def is_polyglot(file: IO[bytes], *, size: int, content_type: str) -> bool:
    """Whether the file is also something else (markup, a ZIP archive, a PDF). Leaves the file at its start."""
    try:
        file.seek(0)
        head = file.read(1024)
        if PDF_HEAD in head:
            return True
        if content_type in VIDEO_TYPES and size > 2 * VIDEO_SCAN_BYTES:
            file.seek(0)
            chunks = [file.read(VIDEO_SCAN_BYTES)]
            file.seek(size - VIDEO_SCAN_BYTES)
            chunks.append(file.read(VIDEO_SCAN_BYTES))
            return any(MARKUP.search(chunk) for chunk in chunks) or ZIP_END in chunks[-1][-ZIP_TAIL:]
        file.seek(0)
        body = file.read()
        return MARKUP.search(body) is not None or ZIP_END in body[-ZIP_TAIL:]
    finally:
        file.seek(0)


class EvidenceRefused(DomainError):
    """An upload refused by ``upload_check``: its ``code`` and the HTTP status the API answers with."""

    def __init__(self, message: str, *, code: str, status: int) -> None:
        super().__init__(message, code=code, field="file")
        self.status = status


def upload_check(upload: UploadedFile, *, existing: int) -> str:
    """The upload's real type, after the count and size limits; else ``EvidenceRefused`` with a clear message.

    The one check of every evidence upload: the storefront API's (api.uploads) and the desk's (staff attaching
    a file to a ticket, or opening one for a buyer). Limits: ``KEFU_EVIDENCE_MAX_*`` (kefu.conf.web).
    """
    if existing >= settings.KEFU_EVIDENCE_MAX_FILES:
        raise EvidenceRefused(
            _("A ticket holds at most %(n)d pieces of evidence.") % {"n": settings.KEFU_EVIDENCE_MAX_FILES},
            code="too_many_files",
            status=409,
        )
    name = upload.name or ""
    if name_is_unsafe(name):
        raise EvidenceRefused(
            _("The file name contains control or text-direction characters; rename the file and send it again."),
            code="unsafe_file_name",
            status=400,
        )
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    content_type = sniff(head)
    if content_type is None:
        raise EvidenceRefused(
            _("Evidence must be a JPEG, PNG or WebP image or an MP4 video (checked from the content)."),
            code="unsupported_media_type",
            status=415,
        )
    limit = (
        settings.KEFU_EVIDENCE_MAX_VIDEO_BYTES
        if content_type in VIDEO_TYPES
        else settings.KEFU_EVIDENCE_MAX_IMAGE_BYTES
    )
    size = upload.size or 0
    if size > limit:
        raise EvidenceRefused(
            _("This %(type)s is %(size)d bytes; the limit is %(limit)d bytes.")
            % {"type": content_type, "size": size, "limit": limit},
            code="file_too_large",
            status=413,
        )
    if size == 0:
        raise EvidenceRefused(_("The file is empty."), code="empty_file", status=400)
    if not name_matches(name, content_type):
        raise EvidenceRefused(
            _(
                "The file is named “%(name)s” but its content is %(type)s; name it with a matching extension "
                "(%(extensions)s) or send the right file."
            )
            % {"name": name, "type": content_type, "extensions": ", ".join(sorted(NAME_EXTENSIONS[content_type]))},
            code="file_name_mismatch",
            status=415,
        )
    if is_polyglot(upload, size=size, content_type=content_type):
        raise EvidenceRefused(
            _(
                "The file is not only %(type)s: it also holds web page, script, archive or PDF content. "
                "Send the photo or video itself."
            )
            % {"type": content_type},
            code="polyglot_file",
            status=415,
        )
    return content_type


def display_name(original: str, content_type: str) -> str:
    """The name a download is offered under: the original's visible characters, with the extension of the
    content's type (older rows may hold names from before the checks above)."""
    cleaned = "".join(
        ch for ch in unicodedata.normalize("NFC", original) if unicodedata.category(ch) not in UNSAFE_CATEGORIES
    )
    cleaned = cleaned.replace("/", "_").replace("\\", "_").strip(" .") or "evidence"
    if not name_matches(cleaned, content_type) or not name_extension(cleaned):
        stem = cleaned.rsplit(".", 1)[0] if name_extension(cleaned) else cleaned
        cleaned = f"{stem}{STORED_EXTENSION.get(content_type, '')}"
    return cleaned[:200]


def file_response(file: IO[bytes], *, filename: str, content_type: str, size: int | None = None) -> FileResponse:
    """A download of ``file`` (streamed in chunks, closed when sent) that no browser renders as a page."""
    response = FileResponse(_chunks(file), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    if size is not None:
        response["Content-Length"] = str(size)
    return response


def _chunks(file: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()
