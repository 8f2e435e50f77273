"""The load of ``manage.py bench_api``: what each client process sends (the plans), the closed-loop client,
and a run's result. Module-level so the client processes (forked) find the plans by name.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from http.client import HTTPConnection

RETURN_PATH = "/api/v1/tickets/returns/"


@dataclass
class Result:
    operation: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    # A client used up the items prepared for it (tickets to cancel, each once) and stopped before the end:
    # the figures then cover less than ``seconds`` and do not count. ``wanted``: the most items one client would
    # have sent in the whole time, at the rate it had (0 when none ran out).
    ran_out: bool = False
    wanted: int = 0

    @classmethod
    def pooled(cls, rounds: list[Result]) -> Result:
        return cls(
            rounds[0].operation,
            sum(r.requests for r in rounds),
            sum(r.errors for r in rounds),
            sum(r.seconds for r in rounds),
            [ms for r in rounds for ms in r.latencies_ms],
            any(r.ran_out for r in rounds),
            max(r.wanted for r in rounds),
        )

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def client(args: tuple) -> tuple[int, int, list[float], int]:
    """One client process: send requests for ``duration`` seconds, return (count, errors, latencies, wanted).

    A plan that has no request left (``None``: its items, each sent once, are used up) stops the client early,
    whatever the machine's speed; ``wanted`` is then the number of requests it would have sent in the whole time
    at the rate it had, else 0.

    Each request on a new connection (``Connection: close``), as nginx proxies to gunicorn by default: a
    connection kept alive stays with the gunicorn worker that accepted it, so a few workers would serve
    every client while the others idle (one core busy of two, whatever the endpoint costs).
    """
    port, key, plan, worker, duration, warmup = args
    headers = {"Authorization": f"Api-Key {key}", "Content-Type": "application/json", "Connection": "close"}
    latencies: list[float] = []
    count = errors = 0
    start = time.perf_counter()
    # The measured window opens when the warm-up time has passed AND this client has had an answer: on a slow or
    # busy machine a cold worker's first request (imports, first connections) can outlast the whole warm-up, and a
    # window measured from the clock alone would then hold no request at all.
    measure_from: float | None = None
    i = wanted = 0
    while True:
        now = time.perf_counter()
        if measure_from is None and i > 0 and now - start >= warmup:
            measure_from = now
        if measure_from is not None and now - measure_from > duration:
            break
        request = plan(worker, i)
        if request is None:
            wanted = math.ceil(i * (warmup + duration) / (now - start)) if now > start else i + 1
            break
        method, path, body = request
        i += 1
        t0 = time.perf_counter()
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            ok = response.status < 400
        except Exception:  # noqa: BLE001 - count it
            ok = False
        finally:
            conn.close()
        elapsed = (time.perf_counter() - t0) * 1000
        if measure_from is not None:
            count += 1
            errors += 0 if ok else 1
            latencies.append(elapsed)
    return count, errors, latencies, wanted


class Plans:
    """Request plans, picklable by name for the client processes (module-level functions)."""

    orders: list[str] = []
    numbers: list[str] = []
    cancel_numbers: list[str] = []
    flat_ids: list[int] = []
    concurrency: int = 8
    rounds: int = 1
    round: int = 0  # set before each round's client processes are forked


def plan_create(worker: int, i: int):
    # Each worker opens returns on its own slice of the orders (its own in every round), one order after
    # another: clients of a shop do not all ask about the same order at the same moment. Wrapping around is
    # harmless here: each order's line has 100,000 to return (bench_api prepare).
    mine = Plans.orders[Plans.round * Plans.concurrency + worker :: Plans.concurrency * Plans.rounds]
    order = mine[i % len(mine)]
    body = json.dumps(
        {"order_number": order, "lines": [{"sku": "BENCH-SKU", "quantity": 1}], "reason": "quality_problem"}
    )
    return "POST", RETURN_PATH, body


def plan_list(worker: int, i: int):
    return "GET", "/api/v1/tickets/?page_size=20", None


def plan_retrieve(worker: int, i: int):
    return "GET", f"/api/v1/tickets/{Plans.numbers[(worker * 7919 + i) % len(Plans.numbers)]}/", None


def plan_transition(worker: int, i: int):
    # Each worker cancels its own slice of requested tickets (its own in every round), each once: past its slice
    # it has nothing left to send (None) and stops. Wrapping around would cancel a ticket again (a 409) as soon
    # as a machine is fast enough to send more than the slice holds.
    mine = Plans.cancel_numbers[Plans.round * Plans.concurrency + worker :: Plans.concurrency * Plans.rounds]
    if i >= len(mine):
        return None
    return "POST", f"/api/v1/tickets/{mine[i]}/actions/cancel/", "{}"


def plan_bare_create(worker: int, i: int):
    body = json.dumps(
        {"kind": "return", "order_number": "B1", "sku": "BENCH-SKU", "quantity": 1, "reason": "quality_problem"}
    )
    return "POST", "/bench/flat/", body


def plan_bare_list(worker: int, i: int):
    return "GET", "/bench/flat/", None


def plan_bare_retrieve(worker: int, i: int):
    return "GET", f"/bench/flat/{Plans.flat_ids[(worker * 7919 + i) % len(Plans.flat_ids)]}/", None


def plan_bare_transition(worker: int, i: int):
    # A toggle (requested <-> cancelled), never refused: reusing a row is harmless, so it wraps around.
    return "POST", f"/bench/flat/{Plans.flat_ids[(worker * 7919 + i) % len(Plans.flat_ids)]}/transition/", "{}"
