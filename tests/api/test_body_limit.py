"""A request body over ``KEFU_REQUEST_MAX_BYTES`` is refused from its Content-Length, before it is sent: a real
HTTP server (pytest-django's live server) answers 413 while the client has sent only the headers, or a trickle of
the body. Before, Django spooled the whole multipart body to disk (300 MB) and refused the file only then."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import ERROR_KEYS, storefront

pytestmark = pytest.mark.django_db(transaction=True)

HUGE = 300 * 1024 * 1024
BOUNDARY = "kefu-boundary"


def _connect(live_server) -> socket.socket:
    parts = urlsplit(live_server.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _headers(path: str, length: int, key: str = "", language: str = "en") -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {length}",
        f"Accept-Language: {language}",
        *([f"Authorization: Api-Key {key}"] if key else []),
        "",
        "",
    ]
    return "\r\n".join(lines).encode()


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP response (the server closes or sends Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    length = int(headers.get("content-length", -1))  # none: the body ends when the server closes
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def _evidence_path(live_server) -> tuple[str, str]:
    shop = storefront("big-upload-shop")
    ticket = shop.ticket("return", "requested")
    return f"/api/v1/tickets/{ticket.number}/evidence/", shop.raw


def test_a_huge_content_length_is_refused_before_the_body_is_sent(live_server):
    path, key = _evidence_path(live_server)
    with _connect(live_server) as sock:
        sock.sendall(_headers(path, HUGE, key))  # headers only: not one byte of the body
        started = time.monotonic()
        status, headers, body = _response(sock)
    assert time.monotonic() - started < 5
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert set(error) == ERROR_KEYS and error["code"] == "too_large"
    assert str(HUGE) in error["message"] and "52" in error["message"]


def test_a_slow_body_over_the_limit_is_refused_while_it_trickles(live_server, settings):
    settings.KEFU_REQUEST_MAX_BYTES = 1024 * 1024
    path, key = _evidence_path(live_server)
    with _connect(live_server) as sock:
        sock.sendall(_headers(path, 2 * 1024 * 1024, key, language="zh-hans"))
        sock.sendall(f"--{BOUNDARY}\r\n".encode())  # the body starts, then nothing more comes
        status, headers, body = _response(sock)
    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert "字节" in json.loads(body)["message"], headers


def test_the_limit_applies_outside_the_api_as_plain_text(live_server):
    with _connect(live_server) as sock:
        sock.sendall(_headers("/admin/login/", HUGE))
        status, headers, _body = _response(sock)
    assert status == 413
    assert headers["content-type"].startswith("text/plain")


def test_a_body_within_the_limit_is_read_as_before(live_server, settings):
    settings.KEFU_REQUEST_MAX_BYTES = 1024 * 1024
    path, key = _evidence_path(live_server)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2000
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    with _connect(live_server) as sock:
        sock.sendall(_headers(path, len(body), key) + body)
        status, _headers_, answer = _response(sock)
    assert status == 201, answer
