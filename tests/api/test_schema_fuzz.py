"""Schema fuzzing: schemathesis generates requests for every operation of /api/schema/ and sends them,
authenticated, to a live server; no answer may be a server error or break the documented response schema.

Storefront operations go with a shop's API key, staff and integration operations with a supervisor's token
(who sees every ticket). Generated ticket and order numbers would only ever find nothing, so most cases are
pointed at real objects of every kind (their states move as the fuzzer runs actions on them). Hypothesis
is derandomized, so a CI run is reproducible; ``FUZZ_EXAMPLES`` sets the examples per operation.

One test per generation mode runs every operation and reports every failing one (a live-server test empties
and refills the database around it, which is slow on PostgreSQL, so not one test per operation).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import StaffToken
from tests.api.conftest import staff_user, storefront
from tests.factories.orders import ShipmentFactory
from tests.incidents.affected import incident_linking
from tickets.models import Attachment

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
STATES = {
    "return": ["requested", "rejected", "awaiting_return", "return_in_transit", "received", "arbitration"],
    "exchange": ["requested", "rejected", "awaiting_return", "received", "replacement_pending", "replacement_shipped"],
    "complaint": ["open", "acknowledged", "investigating", "escalated", "resolution_proposed", "closed"],
    "logistics": ["reported", "investigating", "reshipping", "found", "resolved"],
}


def schema_operations() -> dict[GenerationMode, list[tuple[str, str]]]:
    """Every (method, path) of the schema, with valid input; and with invalid input where there is any to
    make (a body or query parameters: any string is a valid ticket number or Idempotency-Key)."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    found: dict[GenerationMode, list[tuple[str, str]]] = {GenerationMode.POSITIVE: [], GenerationMode.NEGATIVE: []}
    for path, operations in paths.items():
        for method, operation in operations.items():
            found[GenerationMode.POSITIVE].append((method.upper(), path))
            has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
            if "requestBody" in operation or has_query:
                found[GenerationMode.NEGATIVE].append((method.upper(), path))
    return found


OPERATIONS = schema_operations()


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
    numbers, orders, tracking, made = [], [], [], []
    with transaction.atomic():
        for kind, states in STATES.items():
            for state in states:
                ticket = shop.ticket(kind, state)
                tracking.append(ShipmentFactory(order=ticket.order, carrier="SF").tracking_number)
                Attachment.objects.create(  # a piece of evidence to download
                    ticket=ticket,
                    file=ContentFile(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, name="a.png"),
                    original_name="a.png",
                    content_type="image/png",
                    size=72,
                    actor_kind="buyer",
                    actor_name="fuzz",
                )
                numbers.append(ticket.number)
                orders.append(ticket.order.number)
                made.append(ticket)
        incident_linking(made)  # every ticket is an incident's: its answer endpoint finds something
    token = StaffToken.issue(user=staff_user("supervisors", username="fuzz-supervisor"), name="fuzz")[1]
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

    fuzzed = set(OPERATIONS[GenerationMode.POSITIVE])
    assert len(fuzzed) == len(declared_endpoints()) and len(OPERATIONS[GenerationMode.NEGATIVE]) >= 10


def fuzz_operation(api_schema, world: FuzzWorld, method: str, path: str, mode: GenerationMode) -> Counter:
    """Run one operation's examples; raises schemathesis' failure group for what it found (shrunk)."""
    statuses: Counter = Counter()

    @given(case=api_schema[path][method].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case):
        params = case.path_parameters or {}
        if "number" in params:
            params["number"] = next(world.orders if path.startswith("/api/v1/orders/") else world.tickets)
        if "attachment_id" in params and next(world.coin):  # half name the ticket's own evidence
            found = Attachment.objects.filter(ticket__number=params["number"]).values_list("pk", flat=True).first()
            params["attachment_id"] = found or params["attachment_id"]
        if isinstance(case.body, dict) and next(world.coin):  # half the bodies name real things
            if "order_number" in case.body:
                case.body["order_number"] = next(world.orders)
            if "tracking_number" in case.body and "event_id" in case.body:
                case.body.update(carrier="SF", tracking_number=next(world.tracking))
        staff_side = path.startswith(("/api/v1/staff/", "/api/v1/integrations/"))
        headers = world.staff_headers if staff_side else world.storefront_headers
        response = case.call(base_url=world.base_url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)
        statuses[response.status_code] += 1

    fuzz()
    return statuses


# serialized_rollback: the rows data migrations ship (reason codes, departments) come back after the flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_server_error_and_every_answer_matches_the_schema(live_server, fuzz_world, mode):
    api_schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/", timeout=30)
    failures, seen = [], {}
    for method, path in OPERATIONS[mode]:
        try:
            seen[f"{method} {path}"] = fuzz_operation(api_schema, fuzz_world, method, path, mode)
        except Exception as exc:  # every operation runs; all failures are reported together
            failures.append(f"{method} {path} ({mode.value}):\n{exc}")
    print("\n".join(f"{op}: {sorted(counts.items())}" for op, counts in seen.items()))
    assert not failures, "\n\n".join(failures)
    # Valid input reaches the objects: every operation answered at least once with a success or a refusal
    # of the object's state (not only "not found").
    if mode == GenerationMode.POSITIVE:
        assert all(set(counts) - {404} for counts in seen.values()), seen
