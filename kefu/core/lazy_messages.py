"""Django's message framework, its storage made on first use.

``django.contrib.messages``' middleware builds the request's message storage (a cookie storage and a session
storage behind a fallback) for every request, and reads it back into the response: about 1 % of an API
request's CPU, for messages only the admin shows. Here the storage is made when something adds, reads or
iterates the messages (the admin's pages, ``messages.success``); a request that never touched them leaves the
response as it was. Same class name in MIDDLEWARE's place, same API (``django.contrib.messages`` functions and
the ``messages`` context processor work unchanged): tests/kefu/test_lazy_messages.py.
"""

from __future__ import annotations

from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.messages.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty


class LazyMessageMiddleware(MessageMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        request._messages = SimpleLazyObject(lambda: default_storage(request))  # type: ignore[attr-defined]

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:  # type: ignore[attr-defined]
            return response  # never made: nothing to store
        return super().process_response(request, response)
