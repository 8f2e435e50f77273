"""The push receiver: ``POST /connectors/<platform>/push/``. Verifies, stores, answers; processing is a task.

Only what the platform must hear is answered here: 200 (stored, or a duplicate), 403 (signature), 404 (no
such platform or connection), 400 (unreadable). No ticket is touched in the request.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from connectors.base import QUERY_STRING_HEADER, BadSignature
from connectors.platforms import CONNECTORS, connector_class
from connectors.services.sync import UnknownConnection, push_receive


@csrf_exempt
@require_http_methods(["GET", "POST"])
def push_view(request: HttpRequest, platform: str) -> HttpResponse:
    if platform not in CONNECTORS:
        return JsonResponse({"success": False, "error": "unknown platform"}, status=404)
    if request.method == "GET":  # the URL check some platforms run when the push URL is saved (WeChat's echostr)
        answer = connector_class(platform).push_challenge(request.GET.dict())
        if answer is None:
            return JsonResponse({"success": False, "error": "not a valid check"}, status=403)
        return HttpResponse(answer, content_type="text/plain")
    headers = {key: value for key, value in request.headers.items()}
    # Platforms that sign in the query string (WeChat) read it from here (a name no client header can take).
    headers[QUERY_STRING_HEADER] = request.META.get("QUERY_STRING", "")
    try:
        push_receive(platform=platform, headers=headers, body=request.body)
    except BadSignature as exc:
        return JsonResponse({"success": False, "error": str(exc)}, status=403)
    except UnknownConnection:
        return JsonResponse({"success": False, "error": "unknown shop"}, status=404)
    status, body, content_type = connector_class(platform).push_answer()
    return HttpResponse(body, status=status, content_type=content_type)
