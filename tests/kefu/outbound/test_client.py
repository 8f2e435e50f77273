"""kefu.core.outbound against real, badly behaved receivers: one total deadline, a bounded body, no
redirects followed, kept-alive connections, TLS verified for the host name while connecting to its address.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kefu.core import outbound
from kefu.core.outbound import connection as outbound_connection
from tests.kefu.outbound.servers import answer, endless, keep_alive, tcp_server, trickle


@pytest.fixture(autouse=True)
def _fresh_pool():
    outbound.close_idle_connections()
    yield
    outbound.close_idle_connections()


def test_a_receiver_trickling_one_byte_a_second_fails_at_the_total_deadline() -> None:
    reply = answer(body=b'{"ok":true}')  # about 90 bytes: a per-read timeout would wait 90 s and succeed
    with tcp_server(trickle(reply, every=1.0)) as receiver:
        started = time.monotonic()
        with pytest.raises(outbound.OutboundError, match="no complete answer within 2.0 s"):
            outbound.post(f"{receiver.base}/hook", data=b"{}", headers={}, deadline=2.0)
        elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 3.0


def test_the_deadline_setting_applies_when_the_caller_gives_none(settings) -> None:
    settings.KEFU_OUTBOUND_DEADLINE_SECONDS = 1.0
    with tcp_server(trickle(answer(), every=0.5)) as receiver:
        started = time.monotonic()
        with pytest.raises(outbound.OutboundError, match="within 1.0 s"):
            outbound.post(f"{receiver.base}/hook", data=b"{}", headers={})
    assert time.monotonic() - started < 2.0


def test_a_huge_answer_is_read_only_up_to_max_body_and_memory_stays_bounded() -> None:
    with tcp_server(endless(total=50 * 1024 * 1024)) as receiver:
        tracemalloc.start()
        try:
            with pytest.raises(outbound.ResponseTooLarge, match="HTTP 200 with a body over 65536 bytes") as caught:
                outbound.post(f"{receiver.base}/hook", data=b"{}", headers={}, deadline=10)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        time.sleep(0.2)
        sent = receiver.sent
    assert caught.value.status == 200
    assert peak < 2 * 1024 * 1024  # a few blocks of 64 KiB, not the 50 MB on offer
    assert sent < 20 * 1024 * 1024  # the client stopped reading (the rest is what socket buffers took)


def test_an_answer_declaring_a_huge_length_is_refused_before_its_body_is_read() -> None:
    with tcp_server(endless(declared=10**9, total=1024 * 1024)) as receiver:
        with pytest.raises(outbound.ResponseTooLarge):
            outbound.post(f"{receiver.base}/hook", data=b"{}", headers={}, max_body=1000)


def test_max_body_is_the_limit_and_an_answer_within_it_comes_back_whole() -> None:
    with tcp_server(keep_alive(answer(body=b"y" * 1000))) as receiver:
        assert outbound.post(f"{receiver.base}/", data=b"", headers={}, max_body=1000).body == b"y" * 1000
        with pytest.raises(outbound.ResponseTooLarge):
            outbound.post(f"{receiver.base}/", data=b"", headers={}, max_body=999)


def test_a_redirect_is_returned_as_its_status_and_never_followed(settings) -> None:
    """A public-looking first hop (allowed here by KEFU_OUTBOUND_ALLOW_NETWORKS for 127.0.0.1 only, private
    targets otherwise refused) redirects to an internal service on 127.0.0.2: nothing reaches it."""
    settings.KEFU_OUTBOUND_ALLOW_PRIVATE = False
    settings.KEFU_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    secret = b'{"AccessKeyId":"ASIA-internal-credential"}'
    with tcp_server(keep_alive(answer(body=secret)), host="127.0.0.2") as internal:
        for status in ("301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"):
            location = f"Location: {internal.base}/latest/meta-data/"
            with tcp_server(keep_alive(answer(status, body=b"", headers=(location,)))) as first_hop:
                response = outbound.post(f"{first_hop.base}/hook", data=b"{}", headers={})
            assert response.status == int(status[:3])
            assert response.body == b""
        with pytest.raises(outbound.BlockedTarget):
            outbound.check_url(f"{internal.base}/latest/meta-data/")
        assert internal.connections == 0


def test_connections_are_kept_alive_and_a_closed_one_is_replaced() -> None:
    with tcp_server(keep_alive(answer())) as receiver:
        for _ in range(5):
            assert outbound.post(f"{receiver.base}/hook", data=b"{}", headers={}).status == 200
        assert outbound.get(f"{receiver.base}/status?x=1").json() == {"ok": True}
        assert receiver.connections == 1
        assert receiver.requests[-1].startswith(b"GET /status?x=1 HTTP/1.1\r\n")

    def one_request_per_connection(conn: socket.socket, server) -> None:
        server.read_request(conn)
        server.send(conn, answer())  # keep-alive is promised, but the connection is closed after the answer

    with tcp_server(one_request_per_connection) as closing:
        for _ in range(3):
            assert outbound.post(f"{closing.base}/hook", data=b"{}", headers={}).status == 200
            time.sleep(0.05)
        assert closing.connections == 3


def test_the_excerpt_is_short_and_has_no_control_characters_or_secrets() -> None:
    body = b"\x1b[31mError\x00 for key=0123456789abcdef\r\n" + "ü".encode() * 500
    response = outbound.OutboundResponse(status=500, body=body)
    excerpt = response.excerpt()
    assert len(excerpt) <= 200
    assert "\x1b" not in excerpt and "\x00" not in excerpt and "\n" not in excerpt
    assert "0123456789abcdef" not in excerpt
    assert excerpt.startswith("Error for key=0123****")


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 whose self-signed certificate names ``kefu-test.example``; records SNI."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key)]
        + ["-out", str(cert), "-subj", "/CN=kefu-test.example", "-addext", "subjectAltName=DNS:kefu-test.example"],
        check=True,
        capture_output=True,
    )
    seen: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            seen["host"] = self.headers["Host"]
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.__setitem__("sni", name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], cert, seen
    server.shutdown()
    server.server_close()


def test_tls_verifies_the_host_name_and_sends_it_as_sni_while_connecting_to_the_checked_address(
    tls_receiver, monkeypatch
) -> None:
    port, cert, seen = tls_receiver
    real = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: (
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            if host == "kefu-test.example"
            else real(host, *a, **k)
        ),
    )
    url = f"https://kefu-test.example:{port}/hook"
    with pytest.raises(outbound.OutboundError, match="TLS failed"):  # not signed by a trusted authority
        outbound.post(url, data=b"{}", headers={})

    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(outbound_connection, "_tls_context", trusting)
    assert outbound.post(url, data=b"{}", headers={}).body == b"ok"
    assert seen == {"sni": "kefu-test.example", "host": f"kefu-test.example:{port}"}
    with pytest.raises(outbound.OutboundError, match="TLS failed"):  # the certificate does not name 127.0.0.1
        outbound.post(f"https://127.0.0.1:{port}/hook", data=b"{}", headers={})
