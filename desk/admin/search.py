"""The ticket list's search box: ticket number, order number, buyer phone or name, tracking number.

Django's own ``search_fields`` OR together ``UPPER(col) LIKE`` conditions over joined tables, which no index
serves: at 100,000+ tickets every search would read them all. Here each kind of number is looked up
exactly, through its own index (ticket number, ``order_number_idx``, ``buyer_phone_idx``,
``shipment_tracking_idx``), the matches are turned into id lists, and the tickets are then filtered with
``number = … OR order_id IN (…) OR buyer_id IN (…) OR id IN (…)``, which PostgreSQL answers with a bitmap OR
of index scans. Only a buyer's name is matched by its beginning (``istartswith``), and only for a term without
digits (names have none; numbers and phones always do).
"""

from __future__ import annotations

import re

from django.db.models import Q, QuerySet

from orders.models import Buyer, Order, Shipment
from tickets.models import ExchangeTicket, LogisticsTicket, ReturnTicket, Ticket

# A search matching more orders, buyers or shipments than this is too vague to be useful; the first ones do.
MATCH_LIMIT = 500
PHONE = re.compile(r"\+?[\d\- ]{5,20}")


def ticket_search(queryset: QuerySet[Ticket], term: str) -> QuerySet[Ticket]:
    """``queryset`` narrowed to the tickets ``term`` names (see the module docstring); a few indexed lookups."""
    term = term.strip()
    if not term:
        return queryset
    exact = sorted({term, term.upper()})
    condition = Q(number__in=exact)

    order_ids = list(Order.objects.filter(number__in=exact).values_list("pk", flat=True)[:MATCH_LIMIT])
    if order_ids:
        condition |= Q(order_id__in=order_ids)

    buyers = Q()
    if PHONE.fullmatch(term):
        buyers |= Q(phone=term)
    if not any(ch.isdigit() for ch in term):
        buyers |= Q(name__istartswith=term)
    if buyers:
        buyer_ids = list(Buyer.objects.filter(buyers).values_list("pk", flat=True)[:MATCH_LIMIT])
        if buyer_ids:
            condition |= Q(buyer_id__in=buyer_ids)

    shipment_ids = list(Shipment.objects.filter(tracking_number__in=exact).values_list("pk", flat=True)[:MATCH_LIMIT])
    if shipment_ids:
        ticket_ids = [
            *ReturnTicket.objects.filter(return_shipment_id__in=shipment_ids).values_list("pk", flat=True),
            *ExchangeTicket.objects.filter(
                Q(return_shipment_id__in=shipment_ids) | Q(replacement_shipment_id__in=shipment_ids)
            ).values_list("pk", flat=True),
            *LogisticsTicket.objects.filter(shipment_id__in=shipment_ids).values_list("pk", flat=True),
        ]
        if ticket_ids:
            condition |= Q(pk__in=ticket_ids)
    return queryset.filter(condition)
