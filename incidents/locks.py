"""The incident's row lock: taken first, before any ticket, order line or routing row (tickets.locks' order).

Every change to an incident's affected orders (opening a chunk of tickets, moving the deadlines) holds it, so two
starts, a start and the periodic re-scan, or two workers never open a ticket twice for one order.
"""

from __future__ import annotations

from incidents.models import Incident


def incident_lock(incident_id: int) -> Incident:
    """The incident, locked until the end of the caller's transaction (which must be open)."""
    return Incident.objects.select_for_update(of=("self",)).get(pk=incident_id)
