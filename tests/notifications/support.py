"""Real components for the notification tests: a storefront HTTP server, a private Redis, Celery workers.

- :class:`Storefront`: a ``ThreadingHTTPServer`` on 127.0.0.1 (port 0) in a thread that records every POST
  (arrival time, headers, raw body) and answers as the test says: fail the first N deliveries of each
  message, fail always, hold the first request (so a worker can be killed mid-delivery).
- :class:`PrivateRedis`: a ``redis-server`` subprocess on a free port, without persistence, that a test may
  stop and start again on the same port. The shared Redis on 6379 is never touched.
- :func:`kefu_app_on`: the kefu Celery app pointed at a broker URL for the duration (restored afterwards).
- :func:`worker_thread`: a real Celery worker (``celery.contrib.testing.worker.start_worker``) in a thread.
- :func:`worker_process`: ``celery -A kefu worker`` in a subprocess on the test database, for SIGKILL and for
  several workers delivering at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection, connections

from kefu import celery_app
from tests import markers

REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.02, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the storefront ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One request as the storefront received it."""

    at: float  # time.monotonic() on arrival
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the storefront answered

    @property
    def delivery(self) -> str:
        return self.headers.get("X-Kefu-Delivery", "")

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Storefront:
    """What the storefront does; tests change these attributes while it runs."""

    fail_first: int = 0  # answer 500 to the first N requests of each X-Kefu-Delivery
    always_fail: bool = False
    delay: float = 0.0  # seconds before answering every request
    hold_first: threading.Event | None = None  # the very first request waits for this (at most 60 s)
    # Per request: (status, seconds to wait before answering), from the parsed body and how many requests with
    # its X-Kefu-Delivery came before it; when set it decides instead of fail_first / always_fail / delay.
    behave: Callable[[dict[str, Any], int], tuple[int, float]] | None = None
    answer: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    hits: list[Hit] = field(default_factory=list)
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self.overlaps: list[str] = []  # delivery keys received again while a request with it was in flight

    def respond(self, handler: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        key = handler.headers.get("X-Kefu-Delivery", "")
        with self._lock:
            earlier = sum(1 for h in self.hits if h.delivery == key)
            first = not self.hits
            if key and self._in_flight[key]:
                self.overlaps.append(key)
            self._in_flight[key] += 1
            status = 500 if self.always_fail or earlier < self.fail_first else 200
            delay = self.delay
            if self.behave is not None:
                status, delay = self.behave(json.loads(body or b"{}"), earlier)
            self.hits.append(Hit(arrived, handler.path, dict(handler.headers.items()), body, status))
        try:
            if first and self.hold_first is not None:
                self.hold_first.wait(60)
            if delay:
                time.sleep(delay)
            reply = json.dumps(self.answer if status == 200 else {"error": "try again"}).encode()
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(reply)))
            handler.end_headers()
            handler.wfile.write(reply)
        except OSError:
            pass  # the client went away (a killed worker)
        finally:
            with self._lock:
                self._in_flight[key] -= 1

    def deliveries(self, status: int | None = None) -> list[str]:
        """The X-Kefu-Delivery key of every request received (answered with ``status``, if given)."""
        with self._lock:
            return [h.delivery for h in self.hits if status is None or h.status == status]

    def hits_for(self, key: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.delivery == key]


@contextmanager
def storefront_running(**behaviour: Any) -> Iterator[Storefront]:
    """A storefront on 127.0.0.1 in a thread; ``behaviour`` sets :class:`Storefront` attributes."""
    front = Storefront(**behaviour)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real storefront behind a proxy
        # Headers and body go out in two writes; without TCP_NODELAY the second waits for the client's
        # delayed ACK (40 ms a response).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            front.respond(self)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    front.url = f"http://127.0.0.1:{server.server_address[1]}/kefu/webhook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield front
    finally:
        if front.hold_first is not None:
            front.hold_first.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def signature_valid(hit: Hit, secret: str) -> bool:
    """The documented check: HMAC-SHA256(secret, f"{X-Kefu-Timestamp}.{raw body}") == X-Kefu-Signature."""
    timestamp = hit.headers["X-Kefu-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + hit.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", hit.headers["X-Kefu-Signature"])


# -- a private Redis -------------------------------------------------------------------------------------


class PrivateRedis:
    """``redis-server`` on a free port of its own, no persistence; ``stop()`` and ``start()`` keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_until(answers, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


def redis_server_missing() -> str | None:
    if shutil.which("redis-server") is None:
        return "needs the redis-server program (Debian package redis-server) for a private broker; CI installs it"
    return None


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A private Redis for one test; skips (outside CI) or fails (CI) without ``redis-server``."""
    markers.require(redis_server_missing())
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- the kefu Celery app and workers ---------------------------------------------------------------------


def _drop_app_pools() -> None:
    """Make the app look its connection pools up again, for the broker URL it has now.

    Not closed: kombu keeps one pool per broker URL for the process and would hand the closed one out again.
    """
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def kefu_app_on(broker_url: str) -> Iterator[Any]:
    """The kefu Celery app publishing to ``broker_url`` (not eager); the configuration is restored after."""
    conf = celery_app.conf
    names = ("broker_url", "task_always_eager", "worker_hijack_root_logger")
    saved = {name: conf[name] for name in names}
    # Celery takes the CELERY_BROKER_URL environment variable before conf.broker_url (celery.app.utils.Settings),
    # so where it is set (.ci/run sets it) it has to change too, or the app keeps publishing to that broker.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    _drop_app_pools()
    os.environ["CELERY_BROKER_URL"] = broker_url
    conf.update(broker_url=broker_url, task_always_eager=False, worker_hijack_root_logger=False)
    try:
        yield celery_app
    finally:
        _drop_app_pools()
        conf.update(saved)
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env


def _close_db_connections(**_: Any) -> None:
    connections.close_all()


@contextmanager
def worker_thread(*, pool: str = "solo") -> Iterator[Any]:
    """A real Celery worker of the kefu app (see :func:`kefu_app_on` for its broker), in a thread of this process.

    The worker's database connection is closed after every task, so none is left open when the test
    database is flushed or dropped.
    """
    task_postrun.connect(_close_db_connections, weak=False)
    try:
        with start_worker(
            celery_app, pool=pool, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_db_connections)


def database_url_for_subprocess() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for a subprocess."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class WorkerProcess:
    """``celery -A kefu worker --pool solo`` in a subprocess on the test database and the given broker."""

    def __init__(self, broker_url: str, name: str, env: dict[str, str] | None = None) -> None:
        env = {
            **os.environ,
            **(env or {}),
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DATABASE_CONN_MAX_AGE": "0",
            "PYTHONPATH": str(REPO),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kefu",
                "worker",
                "--pool",
                "solo",
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "--hostname",
                f"{name}@%h",
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no rollback sent by the worker itself."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def workers_answering(count: int, *, timeout: float = 180) -> None:
    """Wait until ``count`` workers answer a broadcast ping on the kefu app's broker (they consume tasks)."""
    wait_until(
        lambda: len(celery_app.control.ping(timeout=0.5)) >= count, timeout=timeout, what=f"{count} workers to answer"
    )


@contextmanager
def worker_process(broker_url: str, name: str, env: dict[str, str] | None = None) -> Iterator[WorkerProcess]:
    """A worker process; ``env`` adds environment variables (settings read from the environment)."""
    worker = WorkerProcess(broker_url, name, env)
    try:
        yield worker
    finally:
        worker.stop()


# -- the SMS provider (outside the merchant's walls: faked behind the same interface) ---------------------


class RecordingSmsProvider:
    """An ``SmsProvider`` that records what it is asked to send; ``failures`` makes the next N calls fail."""

    sent: list[dict[str, str]] = []
    failures: int = 0

    def send(self, *, phone: str, text: str, dedup_key: str) -> None:
        if RecordingSmsProvider.failures:
            RecordingSmsProvider.failures -= 1
            raise RuntimeError("provider says: rate limited (isv.BUSINESS_LIMIT_CONTROL)")
        RecordingSmsProvider.sent.append({"phone": phone, "text": text, "dedup_key": dedup_key})
