"""The base of every refusal the domain raises.

Services raise subclasses of :class:`DomainError`; each has a stable ``code`` that integrations rely on and
a human message naming what was wrong. The API maps the ``http_status`` of each family; the admin shows the
message. Codes never change once published (docs/api.md lists them).
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal with a stable code, a message, and optionally the input field it is about."""

    code: ClassVar[str] = "invalid"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.field = field
        self.params = params

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body


class ValidationFailed(DomainError):
    """Input that can never be accepted as given (HTTP 400)."""

    code = "invalid"
    http_status = 400


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The request is valid but the object's current state refuses it (HTTP 409)."""

    code = "conflict"
    http_status = 409
