"""The request plans of ``manage.py bench_api``: a plan whose requests may be sent only once (a cancel) ends
instead of wrapping around, whatever the number of requests a machine manages to send."""

from __future__ import annotations

import pytest

from benchmarks.load import Plans, plan_transition


@pytest.fixture
def plans(monkeypatch):
    monkeypatch.setattr(Plans, "cancel_numbers", [f"RT{i:03d}" for i in range(20)])
    monkeypatch.setattr(Plans, "concurrency", 2)
    monkeypatch.setattr(Plans, "rounds", 2)
    monkeypatch.setattr(Plans, "round", 0)
    return Plans


def test_each_ticket_is_cancelled_once_over_every_client_and_round_then_the_plans_end(plans) -> None:
    sent = []
    for round_ in range(plans.rounds):
        plans.round = round_
        for worker in range(plans.concurrency):
            requests = [plan_transition(worker, i) for i in range(100)]  # far more than its share
            assert requests[5:] == [None] * 95  # 20 tickets, 2 clients, 2 rounds: 5 each
            sent += [path for _, path, _ in requests[:5]]
    assert sorted(sent) == sorted(f"/api/v1/tickets/RT{i:03d}/actions/cancel/" for i in range(20))
