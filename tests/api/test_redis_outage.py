"""Redis stopped and started again in the middle of a burst of 200 API writes (issue 12, "Requests in").

A production-like stack: gunicorn (DEBUG off) on the test's PostgreSQL database, one private ``redis-server`` as
the cache *and* the Celery broker (``CACHE_URL``, ``CELERY_BROKER_URL``), a real Celery worker process, and a
storefront receiving the shop's webhooks. 200 returns are opened through the API from 8 threads; Redis is stopped
after the 40th answer and started again (empty: no persistence) after the 140th.

The cache only helps (throttles, configuration versions) and fails open; the broker's messages are lost with it
and the periodic relay delivers what they carried. So: no answer is a 500, every write is accepted (201) and
committed, and once Redis is back every notification reaches the storefront exactly once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from api.models import ApiKey
from notifications.models import Notification, Status
from notifications.tasks import relay_pending_notifications_task
from tests.markers import requires_postgres
from tests.notifications.conftest import webhook_shop
from tests.notifications.support import (
    Storefront,
    database_url_for_subprocess,
    free_port,
    kefu_app_on,
    private_redis,
    storefront_running,
    wait_until,
    worker_process,
)
from tests.notifications.test_outages import delivered_orders
from tickets.models import ReturnTicket

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

REPO = Path(__file__).resolve().parents[2]
WRITES = 200
THREADS = 8
STOP_AFTER, START_AFTER = 40, 140


@contextmanager
def gunicorn(redis_url: str) -> Iterator[str]:
    """``gunicorn kefu.wsgi`` as production runs it (DEBUG off, the cache and the broker on ``redis_url``)."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "DATABASE_CONN_MAX_AGE": "0",
        "CACHE_URL": redis_url.rsplit("/", 1)[0] + "/1",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "outage-test-" + "k" * 60,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(  # noqa: S603 - our own argv
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "kefu.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "2",
            "-k",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{url}/api/v1/", timeout=1).status_code == 404
        except requests.RequestException:
            return False

    try:
        wait_until(up, timeout=60, interval=0.2, what="gunicorn")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def storefront() -> Iterator[Storefront]:
    with storefront_running() as front:
        yield front


def test_redis_stopped_and_restarted_during_200_writes_no_500_nothing_lost_nothing_twice(storefront) -> None:
    shop = webhook_shop(storefront.url)
    _key, raw = ApiKey.issue(shop=shop, name="outage storefront")
    orders = delivered_orders(shop, WRITES)
    numbers = iter([order.number for order in orders])
    answers: list[tuple[int, str, dict | str]] = []
    lock = threading.Lock()

    with private_redis() as redis, kefu_app_on(redis.url), gunicorn(redis.url) as base:
        with worker_process(redis.url, "outage"):
            phases = {"stopped": False, "restarted": False}

            def write(session: requests.Session) -> None:
                while True:
                    with lock:
                        number = next(numbers, None)
                        if number is None:
                            return
                        if len(answers) >= STOP_AFTER and not phases["stopped"]:
                            phases["stopped"] = True
                            redis.stop()
                        elif len(answers) >= START_AFTER and not phases["restarted"]:
                            phases["restarted"] = True
                            redis.start()
                    response = session.post(
                        f"{base}/api/v1/tickets/returns/",
                        json={
                            "order_number": number,
                            "lines": [{"sku": "SKU-A", "quantity": 1}],
                            "reason": "quality_problem",
                        },
                        headers={"Authorization": f"Api-Key {raw}", "Accept-Language": "en"},
                        timeout=60,
                    )
                    is_json = response.headers.get("Content-Type", "").startswith("application/json")
                    with lock:
                        answers.append((response.status_code, number, response.json() if is_json else response.text))

            def run() -> None:
                with requests.Session() as session:
                    write(session)

            threads = [threading.Thread(target=run) for _ in range(THREADS)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(300)
            took = time.monotonic() - started
            assert phases == {"stopped": True, "restarted": True}

            statuses = Counter(status for status, _number, _body in answers)
            assert statuses[500] == 0, (dict(statuses), [body for status, _n, body in answers if status == 500][:1])
            assert statuses == {201: WRITES}, (statuses, [b for s, _n, b in answers if s != 201][:3])
            # Every accepted write is committed: one ticket per order, each answer's number among them.
            created = {body["number"] for status, _n, body in answers if status == 201 and isinstance(body, dict)}
            stored = set(ReturnTicket.objects.filter(shop=shop).values_list("number", flat=True))
            assert created == stored and len(stored) == WRITES

            # Redis is back, empty: what the broker held is gone. Beat's relay job delivers every pending message.
            outbox = Notification.objects.filter(ticket__shop=shop)
            assert outbox.count() == WRITES
            relay_pending_notifications_task.delay()
            wait_until(
                lambda: not outbox.exclude(status=Status.SENT).exists(), timeout=180, interval=0.5, what="the relay"
            )

    received = Counter(storefront.deliveries(status=200))
    assert set(received) == set(outbox.values_list("dedup_key", flat=True)), "a notification was never delivered"
    assert max(received.values()) == 1, f"delivered twice: {[k for k, n in received.items() if n > 1]}"
    print(f"{WRITES} writes in {took:.1f} s with Redis stopped and restarted: {dict(statuses)}")
