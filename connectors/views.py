"""The push receiver: ``POST /connectors/<platform>/push/``. Verifies, stores, answers; processing is a task.

Only what the platform must hear is answered here: 200 (stored, or a duplicate), 403 (signature), 404 (no
such platform or connection), 400 (unreadable). No ticket is touched in the request.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from connectors.base import BadSignature
from connectors.platforms import CONNECTORS, connector_class
from connectors.services.sync import UnknownConnection, push_receive


@csrf_exempt
@require_POST
def push_view(request: HttpRequest, platform: str) -> HttpResponse:
    if platform not in CONNECTORS:
        return JsonResponse({"success": False, "error": "unknown platform"}, status=404)
    headers = {key: value for key, value in request.headers.items()}
    try:
        push_receive(platform=platform, headers=headers, body=request.body)
    except BadSignature as exc:
        return JsonResponse({"success": False, "error": str(exc)}, status=403)
    except UnknownConnection:
        return JsonResponse({"success": False, "error": "unknown shop"}, status=404)
    status, body, content_type = connector_class(platform).push_answer()
    return HttpResponse(body, status=status, content_type=content_type)
