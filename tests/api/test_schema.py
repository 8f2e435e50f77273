"""The OpenAPI schema validates without a warning and documents every endpoint, its auth schemes and its
errors; the interactive docs render from assets served by the project (drf-spectacular-sidecar), so they
work without internet."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from api import urls as api_urls
from tests.api.test_isolation import declared_endpoints

pytestmark = pytest.mark.django_db

ALWAYS_DOCUMENTED = {"400", "401", "403", "404", "409", "422", "429"}


def test_the_schema_validates_without_a_warning(tmp_path):
    """``manage.py spectacular --validate --fail-on-warn``: a warning (an unresolvable field, a view
    without a serializer) or an invalid OpenAPI document fails."""
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stderr=StringIO())
    assert yaml.safe_load(target.read_text())["openapi"].startswith("3.")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def schema_path(django_route: str) -> str:
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", django_route)


def test_every_endpoint_and_method_is_in_the_schema(schema):
    routes = {p.name: schema_path(str(p.pattern)) for p in api_urls.urlpatterns}
    documented = {(path, method.upper()) for path, ops in schema["paths"].items() for method in ops}
    assert documented == {(routes[name], method) for name, method in declared_endpoints()}


def test_every_operation_documents_its_auth_and_errors(schema):
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "Authorization"}
    assert {"ApiKey", "tokenAuth", "cookieAuth"} <= set(schemes)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "field", "errors"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("security"), where
            assert ALWAYS_DOCUMENTED <= set(operation["responses"]), where
            for status in ALWAYS_DOCUMENTED:
                body = operation["responses"][status]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}, where
            if method == "post" and "tracking-events" not in path and "evidence" not in path:
                headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
                assert "Idempotency-Key" in headers, where


def test_action_names_are_documented(schema):
    from api.actions import ACTIONS

    names = sorted({name for _, name in ACTIONS})
    for path, parameter in (
        ("/api/v1/tickets/{number}/actions/{action}/", "action"),
        ("/api/v1/staff/tickets/{number}/transitions/{transition}/", "transition"),
    ):
        [param] = [p for p in schema["paths"][path]["post"]["parameters"] if p["name"] == parameter]
        assert param["schema"]["enum"] == names
        body = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert "required" not in schema["components"]["schemas"][body.rsplit("/", 1)[1]], "fields depend on the action"


def test_the_docs_render_from_local_assets():
    response = APIClient().get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("api-schema") in html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assets += re.findall(r"""["'](/static/[^"']+)["']""", html)
    local = {a for a in assets if a.startswith("/static/")}
    assert any("swagger-ui" in a for a in local), assets
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))], "assets from another host"
    for asset in local:  # each one is a file the project serves (collectstatic gathers it)
        assert finders.find(asset.removeprefix("/static/")), asset


def test_the_schema_and_docs_need_no_credentials_but_the_api_does():
    client = APIClient()
    assert client.get(reverse("api-schema")).status_code == 200
    assert client.get(reverse("api-docs")).status_code == 200
    assert client.get(reverse("api:ticket-list")).status_code == 401
