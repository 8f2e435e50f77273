"""Evidence uploads: the type is read from the file's content (``filetype``), never from its name or header; names
that disagree with the content or hide characters, and files that are also something else, are refused
(kefu.core.evidence_files says what each check looks for; its ``upload_check`` is the desk's check too)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile

from api.errors import ApiError
from kefu.core.evidence_files import EvidenceRefused, upload_check


def check_upload(upload: UploadedFile, *, existing: int) -> str:
    """The upload's real type, after the count and size limits; refusals are 409/413/415 with a clear code."""
    try:
        return upload_check(upload, existing=existing)
    except EvidenceRefused as refused:
        raise ApiError(status_code=refused.status, code=refused.code, message=refused.message, field="file") from None
