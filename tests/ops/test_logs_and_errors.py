"""Structured logs for a log shipper, and error reports to Sentry only when configured."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOG_SOMETHING = "import logging; logging.getLogger('kefu.ops').warning('parcel %s is late', 'SF1')"


def run_django(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SENTRY_", "LOG_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_plain_logs_by_default() -> None:
    err = run_django(LOG_SOMETHING).stderr
    assert "WARNING kefu.ops parcel SF1 is late" in err


def test_log_format_json_writes_one_object_per_line() -> None:
    lines = [line for line in run_django(LOG_SOMETHING, LOG_FORMAT="json").stderr.splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in lines]
    record = next(r for r in records if r["logger"] == "kefu.ops")
    assert record["level"] == "WARNING"
    assert record["message"] == "parcel SF1 is late"
    assert "time" in record and "process" in record


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append((self.path, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


def test_errors_reach_sentry_only_when_a_dsn_is_set() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Collector.received = []
    try:
        crash = "import logging; logging.getLogger('kefu.ops').error('refund relay crashed: %s', 'boom')"
        run_django(crash)
        assert _Collector.received == []
        dsn = f"http://publickey@127.0.0.1:{server.server_port}/42"
        run_django(crash, SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="ci")
    finally:
        server.shutdown()
    paths = {path for path, _ in _Collector.received}
    assert paths == {"/api/42/envelope/"}
    envelope = b"\n".join(body for _, body in _Collector.received).decode(errors="replace")
    assert "refund relay crashed" in envelope
    assert '"environment":"ci"' in envelope.replace(" ", "")
