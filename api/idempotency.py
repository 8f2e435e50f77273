"""Idempotency-Key for POSTs that create or transition (IETF draft "The Idempotency-Key HTTP Header Field").

- A retry with the same key and the same request returns the first response (``Idempotent-Replayed: true``).
- The same key with a different request (method, path or body) is refused: 422 ``idempotency_key_reused``.
- A retry while the first is still running waits up to ``KEFU_IDEMPOTENCY_WAIT_SECONDS`` for it to finish
  and then replays it; if it is still running after that, 409 ``idempotency_request_in_progress``.
- Keys are scoped per client (API key or staff user) and kept ``KEFU_IDEMPOTENCY_TTL_HOURS`` (default 24).
- A request that ended in a server error is forgotten, so it may be retried with the same key.

The record is claimed in its own short transaction before the view runs, so concurrent requests with the
same key serialise on the unique constraint: exactly one runs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.request import Request
from rest_framework.response import Response

from api.auth import client_id
from api.errors import ApiError
from api.models import IdempotencyRecord, IdempotencyState

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


def fingerprint(request: Request) -> str:
    raw = request._request.body if not request.content_type.startswith("multipart/") else b""
    return hashlib.sha256(
        b"\n".join([(request.method or "").encode(), request.get_full_path().encode(), raw])
    ).hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    body = record.response_body
    if isinstance(body, str):  # kept as JSON text (see _complete)
        body = json.loads(body)
    response = Response(body, status=record.response_status)
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(client: str, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the in-progress record; None if this request now owns the key, else the existing record."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.KEFU_IDEMPOTENCY_STALE_SECONDS)
    IdempotencyRecord.objects.filter(client=client, key=key).filter(
        Q(expires_at__lte=now) | Q(state=IdempotencyState.IN_PROGRESS, created_at__lte=stale)
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                client=client,
                key=key,
                fingerprint=digest,
                expires_at=now + timedelta(hours=settings.KEFU_IDEMPOTENCY_TTL_HOURS),
            )
        return None
    except IntegrityError:
        return IdempotencyRecord.objects.filter(client=client, key=key).first()


def idempotent(view_method: Callable) -> Callable:
    """Decorate an APIView's ``post``: honour the Idempotency-Key header when the client sends one."""

    @functools.wraps(view_method)
    def wrapper(view, request: Request, *args, **kwargs) -> Response:
        key = request.META.get(HEADER, "").strip()
        if not key:
            return view_method(view, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ApiError(
                status_code=400,
                code="invalid_idempotency_key",
                message=_("Idempotency-Key is at most %(n)d characters.") % {"n": MAX_KEY_LENGTH},
                field="Idempotency-Key",
            )
        client = client_id(request)
        digest = fingerprint(request)
        existing = _claim(client, key, digest)
        deadline = time.monotonic() + settings.KEFU_IDEMPOTENCY_WAIT_SECONDS
        while existing is not None:
            if existing.fingerprint != digest:
                raise ApiError(
                    status_code=422,
                    code="idempotency_key_reused",
                    message=_("This Idempotency-Key was already used for a different request."),
                    field="Idempotency-Key",
                )
            if existing.state == IdempotencyState.COMPLETED:
                return _replay(existing)
            if time.monotonic() >= deadline:
                raise ApiError(
                    status_code=409,
                    code="idempotency_request_in_progress",
                    message=_("A request with this Idempotency-Key is still being processed; retry later."),
                )
            time.sleep(0.05)
            existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
            if existing is None:  # the first request failed and released the key: run this one
                existing = _claim(client, key, digest)
        try:
            # The view's changes and the stored response commit together: a crash in between leaves
            # neither, and the abandoned in-progress record is reclaimed after KEFU_IDEMPOTENCY_STALE_SECONDS.
            with transaction.atomic():
                response = view_method(view, request, *args, **kwargs)
                if response.status_code < 500:
                    _complete(client, key, response)
                    return response
        except Exception as exc:
            try:
                response = view.handle_exception(exc)  # a refusal (4xx) is an answer worth replaying
            except Exception:
                _release(client, key)
                raise
            if response.status_code < 500:
                _complete(client, key, response)
                return response
        _release(client, key)
        return response

    return wrapper


def _complete(client: str, key: str, response: Response) -> None:
    IdempotencyRecord.objects.filter(client=client, key=key).update(
        state=IdempotencyState.COMPLETED,
        response_status=response.status_code,
        # The JSON text, not a JSON object: PostgreSQL's jsonb reorders an object's keys, and a replay must be
        # the first answer as it was sent.
        response_body=json.dumps(response.data, default=str, ensure_ascii=False),
    )


def _release(client: str, key: str) -> None:
    IdempotencyRecord.objects.filter(client=client, key=key, state=IdempotencyState.IN_PROGRESS).delete()


def idempotency_records_purge(*, batch_size: int = 1000) -> int:
    """Delete the records whose window has passed (``expires_at`` before now), ``batch_size`` rows per statement.

    Each batch is its own short statement, so a large backlog never holds many row locks at once or one long
    transaction; a key still in its window is never touched (a retry with it must still be answered). Returns
    how many were deleted. The beat task ``purge_idempotency_records_task`` runs it (CELERY_BEAT_SCHEDULE).
    """
    now = timezone.now()
    deleted = 0
    while True:
        batch = list(IdempotencyRecord.objects.filter(expires_at__lte=now).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=batch, expires_at__lte=now).delete()[0]
        if len(batch) < batch_size:
            return deleted
