"""Fixtures of the service tests: the recording test gateway (tests/tickets/services/gateways.py) in place of the
payment provider, and refunds paid in-process after commit."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from tests.tickets.services.gateways import RECORDING, RecordingGateway, paying_gateway


@pytest.fixture
def recording_gateway(settings: Settings) -> type[RecordingGateway]:
    paying_gateway(settings, RECORDING)
    RecordingGateway.reset()
    return RecordingGateway


@pytest.fixture
def eager_refunds(settings: Settings, recording_gateway: type[RecordingGateway]) -> type[RecordingGateway]:
    """``execute_refund_task`` runs in-process when its on-commit callback runs."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return recording_gateway
