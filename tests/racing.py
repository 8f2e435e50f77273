"""Racing threads on PostgreSQL: each with its own connection, all released at one moment by a barrier.

Used by the race tests of the engine (tests/tickets/test_concurrency.py), of routing's claim
(tests/tickets/test_claim_concurrency.py) and of concurrent sweeps (tests/tickets/test_deadlines_concurrency.py).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection

from routing.models import Department, StaffMember
from tickets.actors import Actor

BARRIER_TIMEOUT = 30  # seconds; a thread that never reaches the barrier breaks it instead of hanging the run


@dataclass
class Outcome:
    value: Any = None
    error: BaseException | None = None
    trace: str = ""


def race(n: int, *, prepare: Callable[[int], Any], act: Callable[[int, Any], Any]) -> list[Outcome]:
    """Run ``act(i, prepare(i))`` in ``n`` threads, all ``act`` calls released at the same moment.

    ``prepare`` runs in the thread before the barrier (e.g. loading the thread's own copy of a ticket).
    Every thread uses its own connection and closes it at the end; outcomes are in thread order.
    """
    barrier = threading.Barrier(n, timeout=BARRIER_TIMEOUT)
    outcomes = [Outcome() for _ in range(n)]

    def run(i: int) -> None:
        try:
            try:
                connection.ensure_connection()  # connect before the barrier, so all start their work at once
                prepared = prepare(i)
            except BaseException:
                barrier.abort()
                raise
            barrier.wait()
            outcomes[i].value = act(i, prepared)
        except BaseException as exc:  # noqa: BLE001 - recorded and judged by the test
            outcomes[i].error = exc
            outcomes[i].trace = traceback.format_exc()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=BARRIER_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    return outcomes


def split(outcomes: list[Outcome], *expected: type[BaseException]) -> tuple[list[Outcome], list[Outcome]]:
    """(successes, refusals); fails on any error that is not one of ``expected``, showing its traceback."""
    unexpected = [o for o in outcomes if o.error is not None and not isinstance(o.error, expected)]
    assert not unexpected, "unexpected errors:\n" + "\n".join(o.trace for o in unexpected)
    return [o for o in outcomes if o.error is None], [o for o in outcomes if o.error is not None]


def staff(name: str, department: str, *, on_duty: bool = False) -> Actor:
    """A staff member of ``department``; ``on_duty`` ones are members routing assigns new tickets to."""
    user = get_user_model().objects.create(username=name)
    if on_duty:
        member = StaffMember.objects.create(user=user, on_duty=True, max_open_tickets=100)
        member.departments.set(Department.objects.filter(code=department))
    return Actor.staff(user, departments=frozenset({department}))
