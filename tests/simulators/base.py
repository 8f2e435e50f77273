"""What the HTTP marketplace simulators (taobao.py, pdd.py, jd.py, douyin.py, wechat.py) share: their fixtures,
their clock, the stalls they are told to make, the HTTP server they run in a thread, and the POST that delivers a
push to kefu. (The WebSocket pushes, TMC and PMC, share push_server.py.)

- Fixtures: ``fixtures/<platform>/<name>.json``, documented sample payloads; ``_source`` (where a payload comes
  from) is dropped on loading.
- The clock: the real time in the platform's zone, ahead by ``offset`` (``advance`` moves it); ``frozen`` stops
  it at the moment it is first read (every change in the same second) until the offset moves it.
- Stalls: ``stall_next`` requests wait ``stall`` seconds before they are answered (past the client's deadline).
- The server: :func:`running` serves a simulator on 127.0.0.1 at ``port`` (0: any free one) with a
  :class:`SimulatorHandler` subclass, sets the simulator's ``url`` and stops the server afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).parent / "fixtures"
BEIJING = ZoneInfo("Asia/Shanghai")
FORMAT = "%Y-%m-%d %H:%M:%S"  # Beijing wall-clock times, as Taobao, JD and PDD write them
JSON_UTF8 = "application/json;charset=utf-8"


def load_fixture(platform: str, name: str) -> dict[str, Any]:
    """The sample payload ``fixtures/<platform>/<name>.json`` (without its ``_source``)."""
    data: dict[str, Any] = json.loads((FIXTURES / platform / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_source", None)
    return data


@dataclass
class SimulatedPlatform:
    """The state every HTTP simulator has besides its cases: a lock, an id counter, the clock and the stalls."""

    zone: ClassVar[tzinfo] = BEIJING
    stall_next: int = 0  # let this many requests wait ``stall`` seconds (past the client's deadline)
    stall: float = 0.0
    offset: timedelta = timedelta(0)  # the simulator's clock runs ahead of the real one by this much
    frozen: bool = False  # the clock stands still (every change in the same second) until ``offset`` moves
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._frozen_at: datetime | None = None

    def now(self) -> datetime:
        if self.frozen:
            if self._frozen_at is None:
                self._frozen_at = datetime.now(self.zone).replace(microsecond=0)
            return self._frozen_at + self.offset
        return datetime.now(self.zone) + self.offset

    def take_stall(self) -> None:
        """Wait ``stall`` seconds if a stall is still due (outside the lock: other requests go on meanwhile)."""
        with self._lock:
            stall = self.stall if self.stall_next > 0 else 0.0
            self.stall_next = max(0, self.stall_next - 1)
        if stall:
            time.sleep(stall)


class Served(Protocol):
    url: str


Simulator = TypeVar("Simulator", bound=Served)


class SimulatorHandler(BaseHTTPRequestHandler):
    """One request to a simulator (``self.simulator``); a subclass answers with ``do_POST``/``do_GET``."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    content_type = JSON_UTF8
    server: SimulatorServer

    @property
    def simulator(self) -> Any:
        return self.server.simulator

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", self.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (its deadline)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    simulator: Any


@contextmanager
def running(
    simulator: Simulator, handler: type[SimulatorHandler], *, path: str = "", port: int = 0
) -> Iterator[Simulator]:
    """``simulator`` served on 127.0.0.1:``port`` (0: any free one) in a thread, its ``url`` the base + ``path``."""
    server = SimulatorServer(("127.0.0.1", port), handler)
    server.simulator = simulator
    simulator.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield simulator
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def top_md5_sign(params: dict[str, str], secret: str) -> str:
    """The TOP-style router signature (Taobao ``md5``, JD, PDD): upper hex MD5(secret + sorted key/values + secret)."""
    joined = "".join(k + params[k] for k in sorted(params) if k != "sign")
    return hashlib.md5(f"{secret}{joined}{secret}".encode()).hexdigest().upper()  # noqa: S324 - their scheme


def kefu_push_signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a bridge posting to kefu signs (Taobao's TMC messages, PDD's PMC frames): hex HMAC-SHA256 of
    ``timestamp + "." + body`` with the app secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST ``body`` to kefu (a push); its status and answer, errors included."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - a local test URL
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - a local test URL
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_signed(url: str, items: tuple[dict[str, Any], ...], secret: str) -> tuple[int, bytes]:
    """POST ``items`` (one object, or a list of several) as a bridge does, signed with ``secret``
    (:func:`kefu_push_signature`, headers ``X-Kefu-Timestamp`` and ``X-Kefu-Signature``)."""
    body = json.dumps(list(items) if len(items) != 1 else items[0], ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Kefu-Timestamp": timestamp,
        "X-Kefu-Signature": kefu_push_signature(secret, timestamp, body),
    }
    return post(url, body, headers)
