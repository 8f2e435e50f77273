"""The API's content negotiation is DRF's, remembered per Accept header (api.negotiation): the same renderer and
media type as DRF's default for every header, the same 406 for one no renderer satisfies, every time."""

from __future__ import annotations

import json

import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api import negotiation
from tests.api.conftest import assert_error, url

pytestmark = pytest.mark.django_db

HEADERS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "text/html, application/json;q=0.9",
    "application/*",
    "text/html;q=0.5, */*;q=0.1",
]


@pytest.fixture(autouse=True)
def empty_table():
    negotiation._chosen.clear()
    yield
    negotiation._chosen.clear()


@pytest.mark.parametrize("accept", HEADERS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?page_size=20"])
def test_the_choice_is_drfs_own_and_stays_so_when_remembered(accept, query):
    factory = APIRequestFactory()
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    def choose(negotiator):
        request = Request(factory.get(f"/api/v1/tickets/{query}", **headers))
        renderers = [JSONRenderer(), BrowsableAPIRenderer()]
        try:
            renderer, media_type = negotiator.select_renderer(request, renderers)
        except NotAcceptable:
            return 406
        return renderers.index(renderer), media_type

    expected = choose(DefaultContentNegotiation())
    assert choose(negotiation.RememberedContentNegotiation()) == expected  # worked out
    assert choose(negotiation.RememberedContentNegotiation()) == expected  # remembered


def test_an_indent_asked_in_the_accept_header_is_honoured_every_time(shop_a):
    order = shop_a.order()
    for _ in range(2):
        response = shop_a.client.get(url("order", number=order.number), HTTP_ACCEPT="application/json; indent=4")
        assert response.status_code == 200, response.content
        assert response.content.decode().startswith('{\n    "'), response.content[:40]
        assert json.loads(response.content)["number"] == order.number


def test_a_type_no_renderer_gives_is_refused_every_time(shop_a):
    for _ in range(2):
        response = shop_a.client.get(url("ticket-list"), HTTP_ACCEPT="application/xml", HTTP_ACCEPT_LANGUAGE="en")
        assert_error(response, 406, "not_acceptable")
    assert negotiation._chosen == {}


def test_the_table_of_headers_is_bounded(monkeypatch):
    monkeypatch.setattr(negotiation, "KEPT", 5)
    factory = APIRequestFactory()
    for n in range(12):
        request = Request(factory.get("/api/v1/tickets/", HTTP_ACCEPT=f"application/json; v={n}"))
        negotiation.RememberedContentNegotiation().select_renderer(request, [JSONRenderer()])
        assert len(negotiation._chosen) <= 5
