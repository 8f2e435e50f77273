"""Random sequences of actions on tickets of every kind, with the engine's invariants checked after each step.

A hypothesis state machine opens tickets of all four kinds on two orders, applies random transitions by
name (mostly ones the current state offers, sometimes any name of any kind) as random actors (the buyer,
another buyer, each department, the system, an integration, a platform) with plausible, empty or boundary parameters,
adds comments, sometimes acts on a stale copy, and pays reserved refunds as the Celery worker would.
After every step:

- each ticket's state is one of its kind's states, and its timeline replays to it;
- its version counts its transitions (every change bumps it once);
- per order line, the refunded total never exceeds what was paid and is the sum of its tickets' refunds,
  and each ticket's refunds add up to what it reserved on its lines;
- a ticket that reached an end state (``is_final``) never changes state again.

And after every action: a refusal is a ``DomainError`` with a code and a message (anything else fails the
test) and wrote nothing at all; an action on a stale copy is refused.

Each example runs in a savepoint rolled back at its end, so examples never see each other's rows.
``--hypothesis-show-statistics`` does not reach this test (it runs the machine itself); the ``event`` notes
say what was done and refused when it fails.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, F, Sum
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

import tickets.services as services
from kefu.core.errors import DomainError
from kefu.core.vocabulary import STATES_BY_KIND
from orders.models import Buyer, Order, OrderLine
from tests.factories.orders import OrderFactory, OrderLineFactory, ShipmentFactory
from tests.tickets.property_values import (
    ACTORS,
    ALL_TRANSITIONS,
    BAD_REASON_CODES,
    CARRIERS,
    CATEGORIES,
    CLAIM_NUMBERS,
    COMMENTS,
    COMPLAINT_TEXTS,
    DESCRIPTIONS,
    EXCEPTION_TYPES,
    FEN,
    MODELS,
    REASON_CODES,
    REASONS,
    REPLACEMENT_SKUS,
    RESOLUTIONS,
    SEVERITIES,
    TRACKING_NUMBERS,
    amounts,
    draw,
    world_fingerprint,
)
from tickets.actions import action_get
from tickets.actors import Actor
from tickets.errors import TicketChanged
from tickets.models import (
    EventType,
    Refund,
    RefundStatus,
    Ticket,
    TicketEvent,
    TicketLine,
)
from tickets.payments import PayoutAnswer, PayoutStatus
from tickets.selectors import ticket_get, ticket_refundable_amount, ticket_replayed_state
from tickets.services.engine import ticket_transition
from tickets.types import LineRequest

pytestmark = pytest.mark.django_db

V = TypeVar("V")


class TicketEngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # One savepoint per example, rolled back in teardown: the examples share the test's transaction.
        self._example = transaction.atomic()
        self._example.__enter__()
        # A delivered order (inside the return window) with lines whose per-item shares round up (99.98 / 4),
        # down (100.00 / 3) or are a single fen; an order paid but not delivered yet (refund-only requests).
        delivered = OrderFactory()
        OrderLineFactory(
            order=delivered, sku="COAT", quantity=4, unit_price=Decimal("25.00"), paid_amount=Decimal("99.98")
        )
        OrderLineFactory(
            order=delivered, sku="SOCKS", quantity=3, unit_price=Decimal("33.34"), paid_amount=Decimal("100.00")
        )
        OrderLineFactory(order=delivered, sku="GIFT", quantity=1, unit_price=FEN)
        undelivered = OrderFactory(undelivered=True, shop=delivered.shop)
        OrderLineFactory(order=undelivered, sku="SHOES", quantity=2, unit_price=Decimal("50.00"))
        self.orders: list[Order] = [delivered, undelivered]
        self.lines = {order.pk: list(order.lines.all()) for order in self.orders}
        self.shipments = [ShipmentFactory(order=order) for order in self.orders]
        users = get_user_model().objects
        self.staff: dict[str, Actor] = {
            department: Actor.staff(users.create(username=f"{department}-staff"), departments=frozenset({department}))
            for department in ("operations", "warehouse", "logistics", "supervisors")
        }
        self.staff["system"] = Actor.system("deadline sweep")
        self.staff["integration"] = Actor.integration("tmall")
        self.staff["platform"] = Actor.platform("taobao")
        self.copies: dict[int, Ticket] = {}  # the copy a client holds, sometimes stale on purpose
        self.final_states: dict[int, str] = {}  # tickets seen in an end state, and that state
        self.replayed: dict[int, tuple[str, int]] = {}  # (state, number of events) last replayed
        self.ticket_pks: list[int] = []  # refreshed by the invariants after every step
        self.open_pks: list[int] = []  # those not in an end state
        self.pending_refunds: list[int] = []
        self.last_pk: int | None = None  # the ticket acted on last

    def teardown(self) -> None:
        for kind, state in Ticket.objects.values_list("kind", "state").distinct():
            event(f"reached {kind} {state}")
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # -- helpers -----------------------------------------------------------------------------------------
    def actor(self, key: str, buyer: Buyer) -> Actor:
        if key == "buyer":
            return Actor.for_buyer(buyer)
        if key == "other_buyer":
            other = next(order.buyer for order in self.orders if order.buyer_id != buyer.pk)
            return Actor.for_buyer(other)
        return self.staff[key]

    def attempt(self, what: str, action: Callable[[], V], *, must_refuse: bool = False) -> V | DomainError:
        """Run ``action``; a refusal must be a DomainError with a code and message, and change nothing."""
        before = world_fingerprint()
        try:
            result = action()
        except DomainError as exc:
            assert exc.code and exc.message, f"refusal without code or message: {exc!r}"
            assert world_fingerprint() == before, f"refused ({exc.code}: {exc.message}) but something changed"
            event(f"{what}: refused ({exc.code})")
            return exc
        assert not must_refuse, f"{what} on a stale copy was not refused"
        event(f"{what}: done")
        return result

    # -- opening -----------------------------------------------------------------------------------------
    # Returns and exchanges twice as often: they move money and items, and have the longest paths.
    @rule(
        data=st.data(),
        kind=st.sampled_from(["return", "exchange", "return", "exchange", "complaint", "logistics"]),
        plausible=st.sampled_from([True, True, False]),
    )
    def open_ticket(self, data: st.DataObject, kind: str, plausible: bool) -> None:
        order = data.draw(st.sampled_from([self.orders[0], *self.orders]), label="order")  # mostly delivered
        actor = self.actor(
            draw(data, (["buyer", "operations", "system"], ["other_buyer"]), plausible, "actor"), order.buyer
        )
        lines = self.lines[order.pk]
        optional = kind in ("complaint", "logistics")
        chosen = data.draw(
            st.lists(st.sampled_from(lines), min_size=0 if optional else 1, max_size=2, unique=plausible),
            label="lines",
        )
        requests = [
            LineRequest(
                sku=line.sku,
                quantity=draw(data, ([1, line.quantity], [0, line.quantity + 1]), plausible, f"quantity of {line.sku}"),
            )
            for line in chosen
        ]
        kwargs: dict[str, Any] = {"lines": requests} if requests or not optional else {}
        if kind in REASON_CODES:
            kwargs["reason_code"] = draw(data, (REASON_CODES[kind], BAD_REASON_CODES), plausible, "reason_code")
        if kind == "return":
            shares = [
                TicketLine(order_line=line, quantity=max(1, r.quantity))
                for line, r in zip(chosen, requests, strict=True)
            ]
            kwargs["refund_only"] = data.draw(st.booleans(), label="refund_only")
            good, bad = amounts(ticket_refundable_amount(lines=shares))
            kwargs["requested_amount"] = draw(data, ([None, *good], bad), plausible, "requested_amount")
            open_: Callable[..., Ticket] = services.return_open
        elif kind == "exchange":
            kwargs["replacement_sku"] = draw(data, (["SKU-ALT-L"], ["", "  "]), plausible, "replacement_sku")
            open_ = services.exchange_open
        elif kind == "complaint":
            kwargs["category"] = draw(data, CATEGORIES, plausible, "category")
            kwargs["description"] = draw(data, COMPLAINT_TEXTS, plausible, "description")
            kwargs["severity"] = draw(data, SEVERITIES, plausible, "severity")
            open_ = services.complaint_open
        else:
            kwargs["exception_type"] = draw(data, EXCEPTION_TYPES, plausible, "exception_type")
            own = [s for s in self.shipments if s.order_id == order.pk]
            others = [s for s in self.shipments if s.order_id != order.pk]
            kwargs["shipment"] = draw(data, ([None, *own], others), plausible, "shipment")
            open_ = services.logistics_open
        outcome = self.attempt(f"open {kind}", lambda: open_(order=order, actor=actor, **kwargs))
        if isinstance(outcome, Ticket):
            self.copies[outcome.pk] = ticket_get(pk=outcome.pk)
            self.last_pk = outcome.pk

    # -- acting on a ticket ------------------------------------------------------------------------------
    def pick_ticket(self, data: st.DataObject, pk: int | None = None) -> tuple[Ticket, Ticket, bool]:
        """(fresh copy, the copy the client acts on, whether that copy is stale).

        Mostly a ticket still open; often one in an end state, which must refuse everything that would move it.
        """
        if pk is None:
            pools = {"open": self.open_pks, "ended": sorted(self.final_states), "any": self.ticket_pks}
            pool = pools[data.draw(st.sampled_from(["open", "open", "ended", "any"]), label="among")]
            pk = data.draw(st.sampled_from(pool or self.ticket_pks), label="ticket")
        self.last_pk = pk
        fresh = ticket_get(pk=pk)
        held = self.copies.get(pk, fresh)
        if data.draw(st.sampled_from([False, False, True]), label="act on the copy held since earlier"):
            return fresh, held, held.version != fresh.version
        return fresh, fresh, False

    @precondition(lambda self: self.ticket_pks)
    @rule(data=st.data(), plausible=st.sampled_from([True, True, True, False]))
    def transition(self, data: st.DataObject, plausible: bool) -> None:
        self.transition_on(data, self.pick_ticket(data), plausible)

    @precondition(lambda self: self.last_pk in self.open_pks)
    @rule(data=st.data(), steps=st.integers(1, 6))
    def carry_on(self, data: st.DataObject, steps: int) -> None:
        """A few more steps on the ticket acted on last, so tickets get deep into their state machines; the
        invariants are checked after each of them, as after every rule."""
        for step in range(steps):
            if step:
                self.invariants_hold()
            if self.last_pk not in self.open_pks:
                break
            plausible = data.draw(st.sampled_from([True, True, True, False]), label="plausible")
            self.transition_on(data, self.pick_ticket(data, pk=self.last_pk), plausible)

    def transition_on(self, data: st.DataObject, picked: tuple[Ticket, Ticket, bool], plausible: bool) -> None:
        fresh, copy, stale = picked
        offered = list(fresh.get_available_state_transitions())
        available = sorted(t.name for t in offered)
        # Mostly a step that does not end the ticket (a dynamic target counts as one), so paths get long.
        onward = sorted(t.name for t in offered if t.target not in type(fresh).FINAL_STATES)
        if onward and plausible and data.draw(st.sampled_from([True, True, False]), label="onward"):
            available = onward
        name = draw(data, (available or ALL_TRANSITIONS, ALL_TRANSITIONS), plausible, "transition")
        meta = getattr(getattr(type(fresh), name, None), "_django_fsm", None)
        permitted: list[str] = []
        if meta is not None and meta.has_transition(fresh.state):
            permitted = sorted(getattr(meta.get_transition(fresh.state).permission, "roles", ()))
        actor = self.actor(draw(data, (permitted or ACTORS, ACTORS), plausible, "actor"), fresh.buyer)
        requested = getattr(fresh, "requested_amount", None)
        cap = ticket_refundable_amount(lines=TicketLine.objects.filter(ticket_id=fresh.pk).select_related("order_line"))
        params = {
            "reason": draw(data, REASONS, plausible, "reason"),
            "carrier": draw(data, CARRIERS, plausible, "carrier"),
            "tracking_number": draw(data, TRACKING_NUMBERS, plausible, "tracking_number"),
            # A partial refund is below the requested amount; a compensation is anything above zero.
            "amount": draw(data, amounts(requested - FEN if requested else Decimal("20.00")), plausible, "amount"),
            "requested_amount": draw(data, amounts(cap), plausible, "requested_amount"),
            "description": draw(data, DESCRIPTIONS, plausible, "description"),
            "replacement_sku": draw(data, REPLACEMENT_SKUS, plausible, "replacement_sku"),
            "resolution": draw(data, RESOLUTIONS, plausible, "resolution"),
            "carrier_claim_number": draw(data, CLAIM_NUMBERS, plausible, "carrier_claim_number"),
        }
        declared = action_get(fresh.kind, name)
        if declared is None or declared.system_only:  # run by the deadline sweep or the gateway (expire, …)

            def action() -> Ticket:
                return ticket_transition(ticket=copy, actor=actor, transition=name, reason=params["reason"])
        else:
            kwargs = {key: value for key, value in params.items() if key in declared.act.needs_by_name}

            def action() -> Ticket:
                return services.ticket_act(ticket=copy, actor=actor, action=name, **kwargs)

        outcome = self.attempt(f"{fresh.kind} {name}", action, must_refuse=stale)
        if stale and isinstance(outcome, TicketChanged):
            assert fresh.number in outcome.message
        if not isinstance(outcome, DomainError) or data.draw(st.booleans(), label="reload the held copy"):
            self.copies[fresh.pk] = ticket_get(pk=fresh.pk)

    @precondition(lambda self: self.ticket_pks)
    @rule(data=st.data(), public=st.booleans(), plausible=st.sampled_from([True, False]))
    def comment(self, data: st.DataObject, public: bool, plausible: bool) -> None:
        fresh, _, _ = self.pick_ticket(data)
        actor = self.actor(data.draw(st.sampled_from(ACTORS), label="actor"), fresh.buyer)
        body = draw(data, COMMENTS, plausible, "body")
        self.attempt(
            "comment", lambda: services.ticket_comment_add(ticket=fresh, actor=actor, body=body, public=public)
        )

    @precondition(lambda self: self.pending_refunds)
    @rule(data=st.data())
    def pay_refund(self, data: st.DataObject) -> None:
        """What the Celery worker does after the commit (the test's transaction never commits), then the payer's
        confirmation (the finance queue's record of the manual payout)."""
        refund = services.refund_execute(refund_id=data.draw(st.sampled_from(self.pending_refunds), label="refund"))
        assert (refund.status, refund.payer) == (RefundStatus.SUBMITTED, "manual")
        paid = PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer="manual", reference="BANK-1")
        refund = services.refund_settle(idempotency_key=refund.idempotency_key, answer=paid, actor=Actor.system())
        assert refund.status == RefundStatus.SUCCEEDED
        event("refund paid")

    # -- invariants --------------------------------------------------------------------------------------
    @invariant()
    def invariants_hold(self) -> None:
        self.tickets_are_consistent()
        self.refunds_stay_within_paid()

    def tickets_are_consistent(self) -> None:
        def per_ticket(rows: Any) -> dict[int, Any]:
            return dict(rows.values_list("ticket_id", "n"))

        events = per_ticket(TicketEvent.objects.values("ticket_id").annotate(n=Count("pk")))
        transitions = per_ticket(
            TicketEvent.objects.filter(event_type=EventType.TRANSITION).values("ticket_id").annotate(n=Count("pk"))
        )
        # The goods' part of each refund (return postage the shop refunds is allocated to no line).
        reserved = per_ticket(Refund.objects.values("ticket_id").annotate(n=Sum(F("amount") - F("postage_amount"))))
        on_lines = per_ticket(TicketLine.objects.values("ticket_id").annotate(n=Sum("refunded_amount")))
        self.ticket_pks, self.open_pks = [], []
        for kind, model in MODELS.items():
            for ticket in model.objects.all():
                self.ticket_pks.append(ticket.pk)
                assert ticket.state in STATES_BY_KIND[kind].values, f"{ticket}: {ticket.state} is not a {kind} state"
                # Events are append-only: a timeline already replayed to the same state needs no new replay.
                seen = (ticket.state, events.get(ticket.pk, 0))
                if self.replayed.get(ticket.pk) != seen:
                    assert ticket_replayed_state(ticket=ticket) == ticket.state, f"{ticket}: timeline does not replay"
                    self.replayed[ticket.pk] = seen
                assert ticket.version == transitions.get(ticket.pk, 0), f"{ticket}: version is not its changes"
                if ticket.pk in self.final_states:
                    assert ticket.state == self.final_states[ticket.pk], f"{ticket} left its end state"
                elif ticket.is_final:
                    self.final_states[ticket.pk] = ticket.state
                else:
                    self.open_pks.append(ticket.pk)
                refunds = reserved.get(ticket.pk) or 0
                assert refunds == (on_lines.get(ticket.pk) or 0), f"{ticket}: refunds {refunds}, its lines differ"
                assert kind == "return" or refunds == 0, f"{ticket}: only returns carry refunds"
        self.ticket_pks.sort()
        self.open_pks.sort()
        self.pending_refunds = sorted(
            Refund.objects.filter(status__in=[RefundStatus.REQUESTED, RefundStatus.SUBMITTED]).values_list(
                "pk", flat=True
            )
        )

    def refunds_stay_within_paid(self) -> None:
        per_line = TicketLine.objects.values("order_line_id").annotate(n=Sum("refunded_amount"))
        by_tickets = dict(per_line.values_list("order_line_id", "n"))
        for line in OrderLine.objects.all():
            assert line.refunded_amount <= line.paid_amount, f"{line}: refunded {line.refunded_amount}"
            assert line.refunded_amount == (by_tickets.get(line.pk) or 0), f"{line}: differs from its tickets'"


def test_random_actions_keep_the_engine_invariants(db: None) -> None:
    run_state_machine_as_test(
        TicketEngineMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=20,
            deadline=None,
            # The db fixture is function-scoped on purpose: each example rolls its own savepoint back.
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
