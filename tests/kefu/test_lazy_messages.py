"""kefu.core.lazy_messages: a request that never touches the messages makes no message storage and leaves the
response alone; messages added in one request are shown in the next, as with Django's own middleware."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import path
from django.utils.functional import empty

from kefu.core.lazy_messages import LazyMessageMiddleware


def add(request):
    messages.success(request, "保存成功")
    return HttpResponse("added")


def show(request):
    return HttpResponse("|".join(str(m) for m in messages.get_messages(request)))


urlpatterns = [path("add/", add), path("show/", show)]


def test_a_request_that_never_touches_the_messages_makes_no_storage():
    request = RequestFactory().get("/api/v1/tickets/")
    response = LazyMessageMiddleware(lambda r: HttpResponse("ok"))(request)
    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


@pytest.mark.urls(__name__)
def test_a_message_added_in_one_request_is_shown_in_the_next_and_only_once(client):
    assert client.get("/add/").status_code == 200
    assert client.get("/show/").content.decode() == "保存成功"
    assert client.get("/show/").content.decode() == ""
