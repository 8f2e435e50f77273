"""One JSON shape for every error the API returns, with a stable code.

``{"code": "transition_not_allowed", "message": "…", "field": null, "errors": []}``: ``field`` names the input
at fault for 400s, ``errors`` lists every invalid field of a validation failure. Messages follow the
request's Accept-Language (zh-hans or en; LocaleMiddleware). Codes are listed in docs/api.md.
"""

from __future__ import annotations

from typing import Any, TypedDict

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kefu.core.errors import DomainError

DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
}


class ApiError(exceptions.APIException):
    """An error raised by the API layer itself (idempotency, uploads) with its own code and status."""

    def __init__(self, *, status_code: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.field = field


def error_body(code: str, message: str, field: str | None = None, errors: list | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, "errors": errors or []}


class ErrorItem(TypedDict):
    field: str | None
    code: str | None
    message: str


def _flatten(detail: Any, prefix: str = "") -> list[ErrorItem]:
    """DRF's nested validation errors as a flat list of {field, code, message}."""
    found: list[ErrorItem] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # DRF reports a list serializer's errors by item index: {0: {...}}
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors":
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else key
            found += _flatten(value, path)
    elif isinstance(detail, list):
        if detail and all(isinstance(d, exceptions.ErrorDetail) for d in detail):
            found += [{"field": prefix or None, "code": d.code, "message": str(d)} for d in detail]
        else:
            for i, item in enumerate(detail):
                found += _flatten(item, f"{prefix}[{i}]")
    elif isinstance(detail, exceptions.ErrorDetail):
        found.append({"field": prefix or None, "code": detail.code, "message": str(detail)})
    return found


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        body = error_body(exc.code, exc.message, exc.field)
        return Response(body, status=exc.http_status)
    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, str(exc.detail), exc.field), status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("too_large", _("The request body is too large.")), status=413)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first: ErrorItem = errors[0] if errors else {"field": None, "code": "invalid", "message": _("Invalid input.")}
        message = f"{first['field']}: {first['message']}" if first.get("field") else first["message"]
        response.data = error_body("invalid", message, first.get("field"), errors)
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(code, str(detail))
    return response
