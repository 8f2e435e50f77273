"""OpenAPI pieces shared by the views: the API-key auth scheme, the error responses, the idempotency header."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.serializers import ErrorSerializer
from tickets.actors import DEPARTMENT_ROLES
from tickets.workflows.acts import Need


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


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.StaffTokenAuthentication"
    name = "tokenAuth"  # the name DRF's TokenAuthentication had in the schema before issue 12

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token kefustaff_<prefix>_<secret>`: a staff user's token, issued by a superuser in the admin or "
                "with `manage.py staff_token issue` (shown once; expires after KEFU_STAFF_TOKEN_TTL_HOURS)."
            ),
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
    """The ``action`` / ``transition`` path parameter: one of the declared names (tickets.actions)."""
    from api.actions import ACTIONS

    return OpenApiParameter(
        name,
        str,
        location=OpenApiParameter.PATH,
        enum=sorted({action for _, action in ACTIONS}),
        description="Which of them the caller may run now is the ticket's `actions` list.",
    )


def _who(names: list[str]) -> str:
    return ", ".join(sorted(set(names)))


def action_body_serializer(name: str, roles: frozenset[str], doc: str) -> type[serializers.Serializer]:
    """The body of the actions run by ``roles``, for the docs: every declared input of those actions, each
    optional here (which are required depends on the action: the help text says, and the ticket's ``actions``
    list names them as ``needs``). Built from the catalogue, so it cannot drift from the declarations."""
    from api.actions import ACTIONS, serializer_field

    needs: dict[str, Need] = {}
    required: dict[str, list[str]] = {}
    optional: dict[str, list[str]] = {}
    for (kind, action_name), action in ACTIONS.items():
        if not roles & set(action.roles):
            continue
        for need in action.needs:
            needs.setdefault(need.name, need)
            (required if need.required else optional).setdefault(need.name, []).append(f"{action_name} ({kind})")
    fields = {}
    for field_name, need in needs.items():
        parts = []
        if required.get(field_name):
            parts.append(f"Required by {_who(required[field_name])}.")
        if optional.get(field_name):
            parts.append(f"Optional for {_who(optional[field_name])}.")
        field = serializer_field(need.optional())
        field.help_text = " ".join(parts)
        fields[field_name] = field
    return type(name, (serializers.Serializer,), {"__doc__": doc, **fields})


BuyerActionInSerializer = action_body_serializer(
    "BuyerActionInSerializer",
    frozenset({"buyer"}),
    "The body of a buyer action, for the docs: each action reads the fields it needs and ignores the rest.",
)
StaffTransitionInSerializer = action_body_serializer(
    "StaffTransitionInSerializer",
    frozenset(str(role) for role in DEPARTMENT_ROLES),
    "The body of a staff transition, for the docs: each transition reads the fields it needs (its `needs`).",
)
