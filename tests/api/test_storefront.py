"""Storefront endpoints: order upsert and read, opening each kind, the ticket detail (public timeline, due time,
the buyer's actions), public comments, list filters and cursor pagination."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from orders.models import Order
from tests.api.conftest import assert_error, staff, url
from tests.factories.orders import ShipmentFactory
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def order_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "status": "delivered",
        "paid_at": (timezone.now() - timedelta(days=4)).isoformat(),
        "delivered_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "buyer": {"id": "u-1", "name": "小王", "phone": "13800000000"},
        "lines": [
            {"sku": "TEE-M", "name": "T 恤 M", "quantity": 2, "unit_price": "59.00", "paid_amount": "108.00"},
            {"sku": "CAP", "name": "帽子", "quantity": 1, "unit_price": "30.00", "paid_amount": "30.00"},
        ],
        "shipments": [{"carrier": "SF", "tracking_number": "SF100", "status": "delivered"}],
    }
    body.update(overrides)
    return body


def test_order_upsert_is_idempotent_and_reads_back(shop_a):
    path, body = url("order", number="T-1001"), order_body()
    first = shop_a.client.put(path, body, format="json")
    assert first.status_code == 201, first.content
    again = shop_a.client.put(path, body, format="json")
    assert again.status_code == 200
    assert again.json() == first.json() == shop_a.client.get(path).json()
    assert Order.objects.filter(shop=shop_a.shop, number="T-1001").count() == 1
    lines = {line["sku"]: line for line in first.json()["lines"]}
    assert lines["TEE-M"]["returnable_quantity"] == 2 and lines["TEE-M"]["can_return"] is True
    assert lines["TEE-M"]["refundable_amount"] == "108.00"
    assert lines["TEE-M"]["return_window_ends_at"] is not None
    assert first.json()["shipments"][0]["tracking_number"] == "SF100"


def test_the_order_says_what_is_left_to_return_and_refund(shop_a):
    shop_a.client.put(url("order", number="T-1002"), order_body(), format="json")
    opened = shop_a.client.post(
        url("return-open"),
        {
            "order_number": "T-1002",
            "lines": [{"sku": "TEE-M", "quantity": 1}],
            "reason": "seven_days_no_reason",
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    lines = {line["sku"]: line for line in shop_a.client.get(url("order", number="T-1002")).json()["lines"]}
    assert (lines["TEE-M"]["returnable_quantity"], lines["TEE-M"]["can_return"]) == (1, True)
    assert (lines["CAP"]["returnable_quantity"], lines["CAP"]["can_return"]) == (1, True)
    late = shop_a.order(delivered_at=timezone.now() - timedelta(days=30))
    line = shop_a.client.get(url("order", number=late.number)).json()["lines"][0]
    assert line["can_return"] is False and line["returnable_quantity"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"buyer": {"name": "no id"}}, "buyer.id"),
        ({"lines": []}, "lines"),
        (
            {"lines": [{"sku": "X", "name": "x", "quantity": 0, "unit_price": "1.00", "paid_amount": "1.00"}]},
            "lines[0].quantity",
        ),
        ({"status": "teleported"}, "status"),
        ({"paid_at": "yesterday"}, "paid_at"),
        # Moments before 2000 would come back with Shanghai's local mean time offset (+08:05:43), not RFC 3339.
        ({"paid_at": "1899-12-31T12:00:00+08:00"}, "paid_at"),
        (
            {"shipments": [{"carrier": "SF", "tracking_number": "SF1", "delivered_at": "0439-07-26T12:00:00Z"}]},
            "shipments[0].delivered_at",
        ),
        ({"delivered_at": "2100-01-01T00:00:00Z"}, "delivered_at"),
    ],
)
def test_an_invalid_order_is_400_naming_the_field(shop_a, change, field):
    response = shop_a.client.put(url("order", number="T-BAD"), order_body(**change), format="json")
    assert_error(response, 400, "invalid", field)
    assert not Order.objects.filter(number="T-BAD").exists()


OPEN = {
    "return-open": {"lines": [{"sku": "SKU-A", "quantity": 1}], "reason": "quality_problem", "refund_only": True},
    "exchange-open": {
        "lines": [{"sku": "SKU-A", "quantity": 1}],
        "reason": "wrong_size_colour",
        "replacement_sku": "SKU-A-L",
        "replacement_name": "L 码",
    },
    "complaint-open": {"category": "service_attitude", "severity": 3, "description": "客服不回复"},
    "logistics-open": {"exception_type": "damaged", "description": "外箱破损"},
}


@pytest.mark.parametrize(
    ("name", "kind", "details"),
    [
        ("return-open", "return", {"refund_only": True, "requested_amount": "50.00"}),
        ("exchange-open", "exchange", {"replacement_sku": "SKU-A-L", "replacement_name": "L 码"}),
        ("complaint-open", "complaint", {"category": "service_attitude", "severity": 3}),
        ("logistics-open", "logistics", {"exception_type": "damaged"}),
    ],
)
def test_open_each_kind(shop_a, name, kind, details):
    order = shop_a.order()
    response = shop_a.client.post(url(name), {"order_number": order.number, **OPEN[name]}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["kind"], data["order_number"], data["buyer_id"]) == (kind, order.number, order.buyer.external_id)
    assert details.items() <= data["details"].items()
    assert data["due_at"] is not None and data["actions"]
    assert [e["type"] for e in data["timeline"]] == ["created"]
    assert Ticket.objects.get(number=data["number"]).shop_id == shop_a.shop.pk


def test_a_logistics_ticket_names_its_shipment(shop_a):
    order = shop_a.order()
    ShipmentFactory(order=order, carrier="SF", tracking_number="SF-LOST-1")
    body = {"order_number": order.number, "exception_type": "lost", "tracking_number": "SF-LOST-1"}
    data = shop_a.client.post(url("logistics-open"), body, format="json").json()
    assert data["details"]["shipment"]["tracking_number"] == "SF-LOST-1"
    body["tracking_number"] = "SF-OTHER"
    assert_error(
        shop_a.client.post(url("logistics-open"), body, format="json"), 400, "invalid_lines", "tracking_number"
    )


# (endpoint, change to the body, status, code, field)
BAD_OPENINGS = [
    ("return-open", {"lines": []}, 400, "invalid", "lines"),
    ("return-open", {"reason": None}, 400, "invalid", "reason"),
    ("return-open", {"reason": "no_such_reason"}, 400, "invalid_reason", "reason"),
    ("return-open", {"reason": "service_attitude"}, 400, "invalid_reason", "reason"),
    ("return-open", {"lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "invalid_lines", "lines[0].sku"),
    ("return-open", {"lines": [{"sku": "SKU-A", "quantity": 3}]}, 400, "quantity_not_returnable", "lines[0].quantity"),
    ("return-open", {"lines": [{"sku": "SKU-A"}]}, 400, "invalid", "lines[0].quantity"),
    ("return-open", {"requested_amount": "100.01"}, 409, "refund_exceeds_paid", "requested_amount"),
    ("exchange-open", {"replacement_sku": ""}, 400, "invalid", "replacement_sku"),
    ("complaint-open", {"category": "weather"}, 400, "invalid", "category"),
    ("complaint-open", {"description": ""}, 400, "invalid", "description"),
    ("logistics-open", {"exception_type": None}, 400, "invalid", "exception_type"),
]


@pytest.mark.parametrize(("name", "change", "status", "code", "field"), BAD_OPENINGS)
def test_a_refused_opening_names_the_field_and_writes_nothing(shop_a, name, change, status, code, field):
    order = shop_a.order()
    body = {"order_number": order.number, **OPEN[name], **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert_error(shop_a.client.post(url(name), body, format="json"), status, code, field)
    assert not Ticket.objects.exists() and not TicketEvent.objects.exists()


def test_no_return_after_the_window(shop_a):
    order = shop_a.order(delivered_at=timezone.now() - timedelta(days=30))
    body = {"order_number": order.number, **OPEN["return-open"], "refund_only": False}
    assert_error(shop_a.client.post(url("return-open"), body, format="json"), 400, "outside_return_window", "order")


def test_the_detail_shows_the_public_timeline_the_due_time_and_the_buyers_actions(shop_a):
    ticket = shop_a.ticket("return", "requested")
    agent = staff("operations", username="ops-zhang-san")
    comment = url("staff-ticket-comment", number=ticket.number)
    assert agent.client.post(comment, {"body": "内部: 买家是老客户", "public": False}, format="json").status_code == 201
    assert agent.client.post(comment, {"body": "您好，正在处理", "public": True}, format="json").status_code == 201
    reject = url("staff-ticket-transition", number=ticket.number, transition="reject")
    assert agent.client.post(reject, {"reason": "商品已使用"}, format="json").status_code == 200
    assert (
        shop_a.client.post(url("ticket-comment", number=ticket.number), {"body": "我没用过"}, format="json").status_code
        == 201
    )

    response = shop_a.client.get(url("ticket-detail", number=ticket.number))
    data = response.json()
    assert "ops-zhang-san" not in response.content.decode()
    assert "内部" not in response.content.decode()
    timeline = [(e["type"], e["actor"], e["actor_name"], e["reason"]) for e in data["timeline"]]
    assert timeline[1:] == [
        ("comment", "staff", "staff", "您好，正在处理"),
        ("transition", "staff", "staff", "商品已使用"),
        ("comment", "buyer", str(ticket.buyer), "我没用过"),
    ]
    assert all(e["public"] for e in data["timeline"])
    rejected = Ticket.objects.get(pk=ticket.pk)
    assert data["due_at"] == timezone.localtime(rejected.step_due_at).isoformat()
    assert data["waiting_on"] == "buyer"
    assert sorted(a["name"] for a in data["actions"]) == ["accept_rejection", "cancel", "escalate", "modify"]
    # Staff read everything, names included.
    staff_view = agent.client.get(url("staff-ticket-detail", number=ticket.number))
    assert staff_view.status_code == 404  # waiting on the buyer: no longer in the operations queue
    supervisor_view = staff("supervisors").client.get(url("staff-ticket-detail", number=ticket.number)).json()
    reasons = [e["reason"] for e in supervisor_view["timeline"]]
    assert "内部: 买家是老客户" in reasons
    assert "ops-zhang-san" in [e["actor_name"] for e in supervisor_view["timeline"]]


def test_a_buyer_comment_is_public_and_cannot_be_empty(shop_a):
    ticket = shop_a.ticket("complaint", "open")
    path = url("ticket-comment", number=ticket.number)
    created = shop_a.client.post(path, {"body": "快点处理", "public": False}, format="json")
    assert created.status_code == 201 and created.json()["public"] is True
    assert_error(shop_a.client.post(path, {"body": ""}, format="json"), 400, "invalid", "body")
    assert_error(shop_a.client.post(path, {"body": "x" * 5001}, format="json"), 400, "invalid", "body")


def test_list_filters_and_cursor_pages(shop_a):
    order = shop_a.order()
    mine = [shop_a.ticket(kind, order=order) for kind in ("complaint", "logistics")]
    others = [shop_a.ticket("return", "requested"), shop_a.ticket("return", "refunded"), shop_a.ticket("exchange")]
    tickets = mine + others

    def listed(**query):
        return [row["number"] for row in shop_a.client.get(url("ticket-list"), query).json()["results"]]

    assert set(listed(order=order.number)) == {t.number for t in mine}
    assert set(listed(buyer=order.buyer.external_id)) == {t.number for t in mine}
    assert listed(kind="return", state="refunded") == [others[1].number]
    assert listed(created_after=(timezone.now() + timedelta(hours=1)).isoformat()) == []
    assert_error(shop_a.client.get(url("ticket-list"), {"kind": "parcel"}), 400, "invalid", "kind")
    assert_error(shop_a.client.get(url("ticket-list"), {"created_after": "soon"}), 400, "invalid", "created_after")
    # Cursor pages of 2: every ticket once, newest first.
    seen, page = [], shop_a.client.get(url("ticket-list"), {"page_size": 2}).json()
    while True:
        assert len(page["results"]) <= 2
        seen += [row["number"] for row in page["results"]]
        if not page["next"]:
            break
        page = shop_a.client.get(page["next"]).json()
    assert sorted(seen) == sorted(t.number for t in tickets) and len(seen) == len(tickets)


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("2020-01-01T00:00:00+21:22", 200),  # Python accepts offsets to ±23:59, PostgreSQL only to ±15:59
        ("2020-01-01T00:00:00-18:38", 200),
        ("0001-01-01T00:00:00+21:00", 400),  # before year 1 in UTC
        ("9999-12-31T23:59:59-12:00", 400),  # after year 9999 in UTC
    ],
)
def test_date_filters_take_any_offset_python_reads(shop_a, value, status):
    """Found by schema fuzzing on PostgreSQL: such an offset was a 500 (DataError)."""
    ticket = shop_a.ticket("complaint", "open")
    for name in ("created_after", "created_before"):
        response = shop_a.client.get(url("ticket-list"), {name: value})
        if status == 200:
            assert response.status_code == 200, response.content
            expected = [ticket.number] if name == "created_after" else []
            assert [row["number"] for row in response.json()["results"]] == expected
        else:
            assert_error(response, 400, "invalid", name)
