"""Schema fuzzing: schemathesis generates requests for every operation of /api/schema/ and sends them,
authenticated, to a live server; no answer may be a server error or break the documented response schema.

Storefront operations go with a shop's API key, staff and integration operations with a supervisor's token
(who sees every ticket). Generated ticket and order numbers would only ever find nothing, so most cases are
pointed at real objects of every kind (their states move as the fuzzer runs actions on them). Hypothesis
is derandomized, so a CI run is reproducible; ``FUZZ_EXAMPLES`` sets the examples per operation.
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import staff_user, storefront
from tests.factories.orders import ShipmentFactory

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
STATES = {
    "return": ["requested", "rejected", "awaiting_return", "return_in_transit", "received", "arbitration"],
    "exchange": ["requested", "rejected", "awaiting_return", "received", "replacement_pending", "replacement_shipped"],
    "complaint": ["open", "acknowledged", "investigating", "escalated", "resolution_proposed", "closed"],
    "logistics": ["reported", "investigating", "reshipping", "found", "resolved"],
}

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def schema_operations() -> list[tuple[str, str, GenerationMode]]:
    """Every (method, path) of the schema, read at collection so each operation is a test of its own: with
    valid input, and with invalid input where there is any to make (a body or query parameters; any string
    is a valid ticket number or Idempotency-Key)."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    found = []
    for path, operations in paths.items():
        for method, operation in operations.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
            if "requestBody" in operation or has_query:
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return found


OPERATIONS = schema_operations()


@pytest.fixture
def api_schema(live_server, fuzz_world):
    """The schema as the running server serves it (after the test database is open to the server)."""
    return schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", timeout=30)


@dataclass
class FuzzWorld:
    base_url: str
    storefront_headers: dict[str, str]
    staff_headers: dict[str, str]
    tickets: itertools.cycle
    orders: itertools.cycle
    tracking: itertools.cycle
    coin: itertools.cycle


@pytest.fixture
def fuzz_world(live_server) -> FuzzWorld:
    shop = storefront("fuzz-shop")
    numbers, orders, tracking = [], [], []
    with transaction.atomic():
        for kind, states in STATES.items():
            for state in states:
                ticket = shop.ticket(kind, state)
                tracking.append(ShipmentFactory(order=ticket.order, carrier="SF").tracking_number)
                numbers.append(ticket.number)
                orders.append(ticket.order.number)
    token = Token.objects.create(user=staff_user("supervisors", username="fuzz-supervisor")).key
    return FuzzWorld(
        base_url=live_server.url,
        storefront_headers={"Authorization": f"Api-Key {shop.raw}", "Accept-Language": "en"},
        staff_headers={"Authorization": f"Token {token}", "Accept-Language": "en"},
        tickets=itertools.cycle(numbers),
        orders=itertools.cycle(orders),
        tracking=itertools.cycle(tracking),
        coin=itertools.cycle([True, False]),
    )


def test_every_endpoint_is_fuzzed():
    from tests.api.test_isolation import declared_endpoints

    fuzzed = {(method, path) for method, path, _ in OPERATIONS}
    assert len(fuzzed) == len(declared_endpoints())


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS, ids=[f"{m} {p} {g.value}" for m, p, g in OPERATIONS])
def test_no_server_error_and_every_answer_matches_the_schema(api_schema, fuzz_world, method, path, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        params = case.path_parameters or {}
        if "number" in params:
            params["number"] = next(fuzz_world.orders if path.startswith("/api/v1/orders/") else fuzz_world.tickets)
        if isinstance(case.body, dict) and next(fuzz_world.coin):  # half the bodies name real things
            if "order_number" in case.body:
                case.body["order_number"] = next(fuzz_world.orders)
            if "tracking_number" in case.body and "event_id" in case.body:
                case.body.update(carrier="SF", tracking_number=next(fuzz_world.tracking))
        staff_side = path.startswith(("/api/v1/staff/", "/api/v1/integrations/"))
        headers = fuzz_world.staff_headers if staff_side else fuzz_world.storefront_headers
        response = case.call(base_url=fuzz_world.base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        statuses.append(response.status_code)

    statuses: list[int] = []

    fuzz()
    print(method, path, mode.value, sorted(Counter(statuses).items()))
