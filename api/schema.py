"""OpenAPI pieces shared by the views: the API-key auth scheme, the error responses, the idempotency header."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from api.serializers import ErrorSerializer


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key kefu_<prefix>_<secret>`: a per-shop key created in the admin (shown once).",
        }


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


ERRORS = {
    400: _error("Invalid input; `field` names it."),
    401: _error("Not authenticated."),
    403: _error("Authenticated but not allowed (wrong department or role)."),
    404: _error("Not found, or not yours."),
    409: _error("Illegal or concurrent transition, or an idempotent request still running."),
    422: _error("Idempotency-Key reused with a different request."),
    429: _error("Throttled."),
}

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (≤ 255). A retry with the same key returns the first answer (24 h).",
)
