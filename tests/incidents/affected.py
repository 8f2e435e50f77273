"""Running incidents with their affected orders' tickets, opened by the real services (incidents.services).

``running_incident`` declares a carrier delay over ``count`` shipped orders of one shop whose buyers hear by SMS
(each its own buyer and phone), starts it as a supervisor and opens the tickets the way the opening task does
(``incident_open_tickets``). Tests then drive the telling, the answers and the closing through their services.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from incidents.models import Incident, IncidentStatus, IncidentTicket
from incidents.services import incident_open_tickets, incident_start
from incidents.tokens import answer_token
from notifications.models import ShopChannels
from orders.models import Shop
from payments.models import CouponCode
from tests.factories.incidents import IncidentFactory, delayed_order
from tests.factories.orders import BuyerFactory, ShopFactory
from tests.factories.tickets import user_create
from tickets.actors import Actor


def sms_shop(language: str = "zh-hans", **fields: Any) -> Shop:
    """A shop whose buyers hear by SMS only, in ``language``."""
    shop = ShopFactory(webhook_url="", **fields)
    ShopChannels.objects.create(shop=shop, webhook=False, sms=True, language=language)
    return shop


def supervisor() -> AbstractBaseUser:
    return user_create(is_superuser=True, is_staff=True)


def supervisor_of(user: AbstractBaseUser) -> Actor:
    return Actor.staff(user)


def running_incident(*, count: int = 3, shop: Shop | None = None, language: str = "zh-hans", **fields: Any) -> Incident:
    """A running carrier delay over ``count`` orders of ``shop`` (default: an SMS shop in ``language``)."""
    shop = shop or sms_shop(language)
    for n in range(count):
        buyer = BuyerFactory(shop=shop, phone=f"139{shop.pk:04d}{n:04d}")
        delayed_order(shop=shop, buyer=buyer)
    incident = IncidentFactory(shops=[shop], **fields)
    incident_start(incident, supervisor())
    incident.refresh_from_db()
    incident_open_tickets(incident)
    assert IncidentTicket.objects.filter(incident=incident).count() == count
    return incident


def answer_path(affected: IncidentTicket) -> str:
    return f"/incident/{answer_token(affected.pk)}/"


def coupons(shop: Shop, *values: str) -> None:
    """Put coupon codes worth ``values`` in the shop's pool."""
    for n, value in enumerate(values):
        CouponCode.objects.create(shop=shop, code=f"INC-{shop.pk}-{n}", value=Decimal(value))


def incident_linking(tickets: Any, **fields: Any) -> Incident:
    """A running incident (every offer) that ``tickets`` belong to, one per order: for the API's matrices, whose
    tickets are built in given states rather than opened by an incident."""
    fields = {"offers": ["wait", "exchange", "refund"], "alternative_sku": "SKU-B", **fields}
    incident = IncidentFactory(status=IncidentStatus.RUNNING, started_at=timezone.now(), **fields)
    IncidentTicket.objects.bulk_create(
        [IncidentTicket(incident=incident, order_id=t.order_id, buyer_id=t.buyer_id, ticket_id=t.pk) for t in tickets]
    )
    return incident
