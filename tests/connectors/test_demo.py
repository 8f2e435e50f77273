"""The demo's marketplaces (``make run``'s ``marketplaces`` process): cases made on the simulated Taobao and
Pinduoduo shops arrive in kefu as tickets carrying the platform's deadline, through seed_demo's connections."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.models import PlatformCase, ShopConnection
from connectors.services.sync import connection_pull
from desk.demo import marketplaces as mp
from desk.demo.setup import demo_delete, marketplaces_connect
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def free_base_port() -> int:
    """A port whose +10 and +11 (the demo simulators') are free now."""
    for _ in range(50):
        base = random.randrange(20_000, 60_000)  # noqa: S311 - not secret
        try:
            for offset in (mp.TAOBAO_OFFSET, mp.PDD_OFFSET):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


@pytest.fixture
def demo_marketplaces() -> Iterator[int]:
    """The demo process with four cases made (two per platform), not pushing (no web server here)."""
    port = free_base_port()
    process = subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "tests.simulators.demo", "--port", str(port), "--every", "0.1", "--ticks", "4"]
        + ["--no-push", "--seed", "13"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        for line in process.stderr:
            if line.startswith("4 cases made") or time.monotonic() > deadline:
                break
        assert process.poll() is None, "the demo process ended"
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_cases_on_the_demo_marketplaces_become_tickets_with_the_platform_deadline(demo_marketplaces: int) -> None:
    connections = marketplaces_connect(port=demo_marketplaces)

    results = {c.platform: connection_pull(connection_id=c.pk) for c in connections}

    assert {platform: (r.error, r.cases) for platform, r in results.items()} == {"taobao": ("", 2), "pdd": ("", 2)}
    for shop, platform in ((mp.TAOBAO_SHOP, "taobao"), (mp.PDD_SHOP, "pdd")):
        tickets = Ticket.objects.filter(shop__code=shop)
        assert tickets.count() == 2
        assert all(t.platform == platform and t.platform_due_at is not None for t in tickets), list(tickets)
        assert all(t.state == "requested" and t.due_at <= t.platform_due_at for t in tickets)
    assert not PlatformCase.objects.exclude(last_error="").exists()

    demo_delete()  # seed_demo --reset: the platform cases and connections go with the demo shops' tickets
    assert not PlatformCase.objects.exists() and not ShopConnection.objects.exists() and not Ticket.objects.exists()


def test_seed_demo_connects_again_without_duplicating_and_follows_the_port() -> None:
    first = marketplaces_connect(port=8000)
    again = marketplaces_connect(port=8090)

    assert [c.pk for c in again] == [c.pk for c in first]
    assert [c.base_url for c in again] == ["http://127.0.0.1:8100/router/rest", "http://127.0.0.1:8101/api/router"]
