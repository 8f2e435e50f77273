"""The API's JSON parser: DRF's, with a bound on nesting.

A body nested thousands of levels deep made Python's JSON decoder raise ``RecursionError``, an HTML 500. No kefu
input is nested more than a few levels (a ticket's lines are the deepest: object, list, object), so a body
nested deeper than :data:`MAX_DEPTH` is refused as a parse error: the JSON 400 ``parse_error`` of any malformed
body, before a serializer sees it.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


def depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` (parsed JSON) nests lists and objects more than ``limit`` deep; iterative, so any depth
    is measured without recursion."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
        else:
            if not depth_exceeds(data, MAX_DEPTH):
                return data
        raise ParseError(_("JSON parse error - nested more than %(depth)d levels deep.") % {"depth": MAX_DEPTH})
