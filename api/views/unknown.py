"""Any other path under /api/v1/: the API's JSON 404, not Django's HTML page.

It answers every method without authentication (there is nothing to protect) and, when the same path with a
trailing slash exists, says so: every kefu endpoint ends with one, and an API client cannot follow the HTML
redirect Django's APPEND_SLASH would give (a POST would lose its body).
"""

from __future__ import annotations

from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.views import APIView

from api.errors import ApiError


@extend_schema(exclude=True)
class UnknownEndpointApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def _not_found(self, request: Request, *args, **kwargs):
        path = request.path
        if not path.endswith("/"):
            try:
                match = resolve(path + "/")
            except Resolver404:
                match = None
            if match is not None and getattr(match.func, "view_class", None) is not UnknownEndpointApi:
                raise ApiError(
                    status_code=404,
                    code="not_found",
                    message=_("No endpoint %(path)s; kefu's paths end with a slash: %(slash)s")
                    % {"path": path, "slash": path + "/"},
                )
        raise ApiError(status_code=404, code="not_found", message=_("No endpoint %(path)s.") % {"path": path})

    get = post = put = patch = delete = head = options = _not_found
