"""What every platform's call shares: one request through ``kefu.core.outbound`` with its failures as
:class:`PlatformError` (:func:`send`, :func:`decoded`), and the TOP-style signed router call Taobao, JD and
Pinduoduo make (:func:`router_call`): system and business parameters in one form, signed with the platform's
own function, posted, the platform's ``error_response`` mapped by the platform's own function.

How failures map, for every platform alike:

- a target the outbound rules refuse → permanent (``blocked_target``); any other network failure or timeout →
  transient (``network``);
- HTTP 5xx → transient (``http_<status>``); ``rate_limited_status`` (Douyin: 429) → rate limited;
- a body that is not JSON → transient (``http_<status>``); an answer without the object the call expects →
  transient (``unexpected_answer``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from urllib3 import encode_multipart_formdata

from connectors.commands import ErrorKind, PlatformError
from kefu.core import outbound

FORM = "application/x-www-form-urlencoded;charset=utf-8"
Files = Mapping[str, tuple[str, bytes, str]]  # name → (file name, bytes, content type)


def signed_text(params: Mapping[str, str]) -> str:
    """What TOP-style routers sign: every parameter but ``sign``, keys sorted (byte order), ``key1value1key2…``."""
    return "".join(f"{key}{params[key]}" for key in sorted(params) if key != "sign")


def md5_sign(params: Mapping[str, str], secret: str) -> str:
    """The TOP-style MD5 signature (Taobao ``md5``, JD, Pinduoduo): ``upper(hex(MD5(secret + text + secret)))``."""
    return hashlib.md5((secret + signed_text(params) + secret).encode()).hexdigest().upper()  # noqa: S324 - theirs


def send(
    url: str,
    *,
    data: bytes | None = None,
    content_type: str = FORM,
    max_body: int,
    rate_limited_status: int | None = None,
) -> outbound.OutboundResponse:
    """POST ``data`` (GET when it is None) to ``url``; the answer (below 500), or :class:`PlatformError`."""
    try:
        if data is None:
            response = outbound.get(url, max_body=max_body)
        else:
            response = outbound.post(url, data=data, headers={"Content-Type": content_type}, max_body=max_body)
    except outbound.BlockedTarget as exc:
        raise PlatformError(ErrorKind.PERMANENT, "blocked_target", str(exc)) from exc
    except outbound.OutboundError as exc:
        raise PlatformError(ErrorKind.TRANSIENT, "network", str(exc)) from exc
    if rate_limited_status is not None and response.status == rate_limited_status:
        raise PlatformError(ErrorKind.RATE_LIMITED, f"http_{response.status}", response.excerpt())
    if response.status >= 500:
        raise PlatformError(ErrorKind.TRANSIENT, f"http_{response.status}", response.excerpt())
    return response


def decoded(response: outbound.OutboundResponse) -> Any:
    """The answer's JSON; a body that is not JSON is transient."""
    try:
        return response.json()
    except ValueError as exc:
        raise PlatformError(ErrorKind.TRANSIENT, f"http_{response.status}", response.excerpt()) from exc


def unexpected(response: outbound.OutboundResponse) -> PlatformError:
    """An answer without what the call expects (transient: the platform may answer properly next time)."""
    return PlatformError(ErrorKind.TRANSIENT, "unexpected_answer", response.excerpt())


def router_call(
    url: str,
    params: Mapping[str, str],
    *,
    sign: Callable[[Mapping[str, str]], str],
    error_from: Callable[[Mapping[str, Any]], PlatformError],
    response_key: str | None,
    max_body: int,
    files: Files | None = None,
) -> dict[str, Any]:
    """One signed router call: ``params`` (system and business, as text) with ``sign(params)`` added, posted as a
    form (multipart when there are ``files``, which stay outside the signature as the platforms' SDKs sign);
    the answer's ``response_key`` object (the whole answer when None). An ``error_response`` becomes
    ``error_from(error_response)``."""
    signed = {**params, "sign": sign(params)}
    if files:
        data, content_type = encode_multipart_formdata({**signed, **files})
    else:
        data, content_type = urlencode(signed).encode(), FORM
    response = send(url, data=data, content_type=content_type, max_body=max_body)
    body = decoded(response)
    if not isinstance(body, dict):
        raise unexpected(response)
    if "error_response" in body:
        raise error_from(body["error_response"])
    if response_key is None:
        return body
    if not isinstance(body.get(response_key), dict):
        raise unexpected(response)
    result: dict[str, Any] = body[response_key]
    return result
