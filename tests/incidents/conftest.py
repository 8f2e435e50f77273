"""Fixtures of the incident tests: a supervisor who declares and starts incidents."""

from __future__ import annotations

import pytest

from tests.factories.tickets import supervisor_actor
from tickets.actors import Actor


@pytest.fixture
def supervisor(db: None) -> Actor:
    return supervisor_actor()
