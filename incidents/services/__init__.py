"""The incident services: every change a staff member, a task or a command makes to an incident goes through them.

- starting: ``incident_start``, ``incident_open_tickets`` (the task's chunks), ``incident_rescan`` (beat);
- deadlines: ``incident_deadlines_extend``;
- flags: tickets whose platform clock runs out before the incident's timeline.
"""

from incidents.services.deadlines import ExtendResult, incident_deadlines_extend
from incidents.services.flags import incident_tickets_flag, incident_timeline_end, platform_first
from incidents.services.starting import (
    OpenResult,
    incident_actor,
    incident_check,
    incident_open_tickets,
    incident_rescan,
    incident_start,
    incident_ticket_kind,
)

__all__ = [
    "ExtendResult",
    "OpenResult",
    "incident_actor",
    "incident_check",
    "incident_deadlines_extend",
    "incident_open_tickets",
    "incident_rescan",
    "incident_start",
    "incident_ticket_kind",
    "incident_tickets_flag",
    "incident_timeline_end",
    "platform_first",
]
