"""Concurrent syncs of the same new order, or of new orders of one new buyer, create each row once (PostgreSQL)."""

from __future__ import annotations

import pytest

from orders.services import order_upsert
from tests.factories.orders import ShopFactory
from tests.markers import requires_postgres
from tests.orders.concurrency import run_at_once
from tests.orders.payloads import payload, row_counts

# -- order_upsert: concurrency (PostgreSQL) ---------------------------------------------------------------


@requires_postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("known_buyer", [False, True], ids=["new buyer", "known buyer"])
def test_four_concurrent_syncs_of_the_same_new_order_create_it_once(known_buyer: bool) -> None:
    shop = ShopFactory()
    if known_buyer:
        # Then nothing but the order's own unique constraint stands between the four inserts.
        order_upsert(shop=shop, data=payload(number="TB-EARLIER", shipments=()))
    before = row_counts()

    results = run_at_once(4, lambda _: order_upsert(shop=shop, data=payload()))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.order.pk for r in results}) == 1
    after = row_counts()
    assert {name: after[name] - before[name] for name in after} == {
        "orders": 1,
        "buyers": 0 if known_buyer else 1,
        "lines": 2,
        "shipments": 1,
    }


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_different_orders_of_a_new_buyer_create_the_buyer_once() -> None:
    shop = ShopFactory()

    results = run_at_once(4, lambda i: order_upsert(shop=shop, data=payload(number=f"TB-{i}", shipments=())))

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert all(r.created for r in results)
    assert row_counts() == {"orders": 4, "buyers": 1, "lines": 8, "shipments": 0}
