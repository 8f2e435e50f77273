"""OpenAPI pieces shared by the views: the API-key auth scheme, the error responses, the idempotency header."""

from decimal import Decimal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

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


def action_parameter(name: str) -> OpenApiParameter:
    """The ``action`` / ``transition`` path parameter: one of the registered names (api.actions)."""
    from api.actions import ACTIONS

    return OpenApiParameter(
        name,
        str,
        location=OpenApiParameter.PATH,
        enum=sorted({action for _, action in ACTIONS}),
        description="Which of them the caller may run now is the ticket's `actions` list.",
    )


class BuyerActionInSerializer(serializers.Serializer):
    """The body of a buyer action, for the docs: each action reads the fields it needs and ignores the rest."""

    reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Required by reopen; optional for cancel and escalate.",
    )
    carrier = serializers.CharField(max_length=64, required=False, help_text="ship_back")
    tracking_number = serializers.CharField(max_length=64, required=False, help_text="ship_back")
    requested_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="modify (a return)",
    )
    replacement_sku = serializers.CharField(
        max_length=64, required=False, allow_null=True, help_text="modify (an exchange)"
    )
    description = serializers.CharField(max_length=5000, required=False, allow_null=True, help_text="modify")


class StaffTransitionInSerializer(serializers.Serializer):
    """The body of a staff transition, for the docs: each transition reads the fields it needs (its `needs`)."""

    reason = serializers.CharField(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="reject, fail_inspection, pass_inspection_partly, uphold_rejection, "
        "convert_to_refund, dismiss; optional elsewhere.",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="pass_inspection_partly, compensate",
    )
    carrier = serializers.CharField(
        max_length=64, required=False, help_text="ship_back, ship_replacement, mark_reshipped"
    )
    tracking_number = serializers.CharField(max_length=64, required=False, help_text="with carrier")
    resolution = serializers.CharField(max_length=5000, required=False, help_text="propose_resolution")
    carrier_claim_number = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="investigate (a logistics exception)"
    )
