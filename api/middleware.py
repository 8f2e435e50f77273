"""What every request meets before a view: the body size limit, and answers in the API's shape under /api/.

:class:`RequestGuardMiddleware` (settings.MIDDLEWARE, just under LocaleMiddleware, so answers follow the caller's
Accept-Language):

- **Body size.** A request whose ``Content-Length`` exceeds ``KEFU_REQUEST_MAX_BYTES`` is answered 413 at once,
  before anything reads its body (Django would otherwise spool a multipart upload of any size to disk first, and
  refuse it only after). The reverse proxy's ``client_max_body_size`` should match (docs/api.md).
- **The database unreachable** (``OperationalError``/``InterfaceError`` from any layer, a view or a middleware):
  503 with ``Retry-After`` (``KEFU_UNAVAILABLE_RETRY_AFTER_SECONDS``), never a 500. The cache and the broker only
  help and fail open (kefu.core.cache, notifications.publishing), so the database is the one dependency a request
  truly needs.
- **Under /api/, every error is JSON** in the one error shape (api.errors): a 404 of a path outside /api/v1/, a
  405, a 500, a 413, a 503 — whatever Django or a middleware would have answered as an HTML page. Except the
  answers a payment provider's protocol fixes (Alipay's ``fail`` text, payments.views), marked with
  ``PROVIDER_ANSWER``.

Exceptions raised below this middleware reach it as Django's 500 response; ``got_request_exception`` (sent for
each of them) leaves the exception on the request, so the 500 of an unreachable database can be told apart.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from api.errors import error_body

API_PREFIX = "/api/"
EXCEPTION_ATTRIBUTE = "_kefu_exception"
UNAVAILABLE = (OperationalError, InterfaceError)
# An attribute a view sets on a response whose body a caller's protocol fixes (payments.views: Alipay's "fail").
PROVIDER_ANSWER = "kefu_provider_answer"


def _remember_exception(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    """``got_request_exception`` is sent inside the ``except`` that caught it: keep it for the middleware."""
    if request is not None:
        setattr(request, EXCEPTION_ATTRIBUTE, sys.exc_info()[1])


got_request_exception.connect(_remember_exception, dispatch_uid="api.middleware.remember_exception")


def _messages() -> dict[int, tuple[str, str]]:
    """The code and message of each status an error page may have, in the active language."""
    return {
        400: ("bad_request", _("The request is malformed.")),
        403: ("permission_denied", _("You do not have permission to perform this action.")),
        404: ("not_found", _("Not found.")),
        405: ("method_not_allowed", _("This method is not allowed here.")),
        413: ("too_large", _("The request body is too large.")),
        429: ("throttled", _("Request was throttled.")),
        500: ("server_error", _("Internal server error; it has been logged.")),
        503: ("unavailable", _("The service is temporarily unavailable; retry later.")),
    }


def _is_provider_answer(response: HttpResponse) -> bool:
    return bool(getattr(response, PROVIDER_ANSWER, False))


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.KEFU_REQUEST_MAX_BYTES
        length = _declared_length(request)
        if length > limit:
            message = _("The request body is %(size)d bytes; the limit is %(limit)d bytes.") % {
                "size": length,
                "limit": limit,
            }
            # The body stays unread: gunicorn (and Django's development server) discard or close after answering.
            return self._error(request, 413, "too_large", message)
        response = self.get_response(request)
        exc = getattr(request, EXCEPTION_ATTRIBUTE, None)
        if response.status_code == 500 and isinstance(exc, UNAVAILABLE):
            code, message = _messages()[503]
            response = self._error(request, 503, code, message)
            response["Retry-After"] = str(settings.KEFU_UNAVAILABLE_RETRY_AFTER_SECONDS)
            return response
        if (
            is_api(request)
            and response.status_code >= 400
            and not _is_json(response)
            and not _is_provider_answer(response)
        ):
            code, message = _messages().get(response.status_code, ("error", response.reason_phrase))
            replaced = self._error(request, response.status_code, code, message)
            for header in ("Allow", "Retry-After"):
                if header in response:
                    replaced[header] = response[header]
            return replaced
        return response

    @staticmethod
    def _error(request: HttpRequest, status: int, code: str, message: str) -> HttpResponse:
        if is_api(request):
            response: HttpResponse = JsonResponse(error_body(code, message), status=status)
        else:
            response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        # Set here: a 413 leaves before CommonMiddleware would, and a client still sending its body reads the
        # answer by its length (the server may hold the connection open to discard what follows).
        response["Content-Length"] = str(len(response.content))
        return response


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
