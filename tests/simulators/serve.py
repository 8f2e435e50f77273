"""The Taobao simulator as a process of its own, seeded with many cases: what ``bench_connectors`` pulls from.

    python -m tests.simulators.serve --cases 100000 [--port 0]

Seeds ``--cases`` refunds generated deterministically from the fixtures (``refund_only`` and ``return_refund`` in
turn; case ``i`` has refund id ``BASE_ID + i``, its own order and one of 10,000 buyers), modified one second apart
and ending a minute ago, each with the merchant's deadline 48 hours ahead; then serves TOP's router on 127.0.0.1 and
prints one JSON line on stdout: the router's URL, the credentials and shop nick a connection needs, and the
modified range (``since``/``until``, ISO). It serves until it is terminated (SIGTERM, or its stdin closes).

Benchmarks (``benchmarks/``) start it as a subprocess rather than importing the test tree.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import timedelta
from types import FrameType

from tests.simulators.taobao import APP_KEY, APP_SECRET, FORMAT, SESSION, TaobaoSimulator, taobao_running

BASE_ID = 31_000_000_000_000
BUYERS = 10_000
FIXTURES = ("refund_only", "return_refund")


def seed(simulator: TaobaoSimulator, cases: int) -> tuple[str, str]:
    """``cases`` refunds, modified one second apart up to a minute ago; their first and last modified times."""
    last = simulator.now().replace(microsecond=0) - timedelta(minutes=1)
    first = last - timedelta(seconds=cases - 1)
    for i in range(cases):
        stamp = (first + timedelta(seconds=i)).strftime(FORMAT)
        simulator.create(
            FIXTURES[i % len(FIXTURES)],
            refund_id=str(BASE_ID + i),
            tid=str(BASE_ID * 2 + i),
            oid=str(BASE_ID * 3 + i),
            buyer_open_uid=f"AAbench{i % BUYERS:06d}",
            created=stamp,
            modified=stamp,
        )
    return first.isoformat(), last.isoformat()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="refunds to seed (default 100,000)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    options = parser.parse_args(argv)
    stop = threading.Event()

    def terminate(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, terminate)
    with taobao_running(port=options.port) as simulator:
        since, until = seed(simulator, options.cases)
        facts = {
            "url": simulator.url,
            "app_key": APP_KEY,
            "app_secret": APP_SECRET,
            "session": SESSION,
            "shop": simulator.seller_nick,
            "cases": options.cases,
            "since": since,
            "until": until,
        }
        print(json.dumps(facts, ensure_ascii=False), flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()


if __name__ == "__main__":
    main()
