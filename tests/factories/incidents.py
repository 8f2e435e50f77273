"""Incidents and their affected orders.

``IncidentFactory`` builds a draft carrier delay that passes ``Incident.clean`` (a message, a wait offer with its
compensation); ``delayed_order`` builds an order an incident over carrier ``SF`` in transit matches: shipped, with
one line and its outbound shipment (regions included). Tests of starting call incidents.services, not factories,
for the affected orders' tickets.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from incidents.models import Incident, IncidentKind, IncidentOffer
from orders.models import Order, OrderStatus, ShipmentStatus
from tests.factories.orders import OrderFactory, OrderLineFactory, ShipmentFactory


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"顺丰华东中转延误 {n}")
    kind = IncidentKind.LOGISTICS_DELAY
    carrier = "SF"
    message = factory.LazyFunction(
        lambda: {"zh-hans": "您的包裹因中转站停运延误，我们深表歉意。", "en": "Your parcel is delayed; we are sorry."}
    )
    expected_delivery_date = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=3)).date())
    offers = factory.LazyFunction(lambda: [IncidentOffer.WAIT, IncidentOffer.REFUND])
    compensation_amount = Decimal("5.00")

    @factory.post_generation
    def shops(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.shops.set(extracted)


def delayed_order(
    *,
    carrier: str = "SF",
    tracking_status: str = ShipmentStatus.IN_TRANSIT,
    origin_region: str = "浙江省/杭州市",
    destination_region: str = "北京市/北京市",
    sku: str = "SKU-A",
    shipped_at: Any = None,
    status: str = OrderStatus.SHIPPED,
    **order_fields: Any,
) -> Order:
    """A shipped order with one line (``sku``) and its outbound shipment, not delivered yet."""
    order_fields.setdefault("delivered_at", None)
    order = OrderFactory(status=status, **order_fields)
    OrderLineFactory(order=order, sku=sku, quantity=1, unit_price=Decimal("99.00"), paid_amount=Decimal("99.00"))
    ShipmentFactory(
        order=order,
        carrier=carrier,
        status=tracking_status,
        origin_region=origin_region,
        destination_region=destination_region,
        shipped_at=shipped_at or order.paid_at + timedelta(hours=6),
    )
    return order
