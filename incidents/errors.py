"""The refusals of the incident services, each with a stable code."""

from __future__ import annotations

from kefu.core.errors import Conflict, ValidationFailed


class IncidentClosed(Conflict):
    """A closed incident is not started again, nor are its deadlines moved (HTTP 409)."""

    code = "incident_closed"


class IncidentNotRunning(Conflict):
    """The incident has not been started yet (HTTP 409)."""

    code = "incident_not_running"


class IncidentInvalid(ValidationFailed):
    """The incident's declaration is incomplete (``Incident.clean``): no message, no offer, … (HTTP 400)."""

    code = "incident_invalid"
