"""Rendering a canned reply for a ticket, in the buyer's language, with a small fixed set of variables.

Like notifications.rendering: Django's template language on a separate engine without autoescaping (plain
text), given plain values only (no model objects: a template cannot reach anything but what is listed here).
Tags are limited to ``if``/``elif``/``else``/``endif`` and ``firstof``; a body using another tag, an unknown
variable or a syntax error is refused when saved (``template_problem``), naming what is wrong.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.template import Context, Engine, TemplateSyntaxError
from django.template import Template as DjangoTemplate
from django.utils import translation
from django.utils.translation import gettext as _

from notifications.config import notification_config
from notifications.models import Language, ShopChannels
from notifications.rendering import local_time, template_unknowns
from orders.models import OrderLine
from tickets.models import Ticket
from tickets.wording import buyer_state_label

# Every variable a reply may use, with what it is (the admin lists them; keep in step with reply_context).
VARIABLES: dict[str, Any] = {
    "buyer.name": "林小美",
    "order.number": "TB20260301001",
    "ticket.number": "RT-2026-000123",
    "ticket.state_label": "待寄回",
    "shop.name": "糖果家居 淘宝旗舰店",
    "amount": "¥128.00",
    "deadline": "2026-03-09 18:00",
    "return_address": "杭州市余杭区仓前街道 1 号 售后仓 收件人：王仓管 电话：0571-88880000",
}
ALLOWED_TAGS = frozenset({"if", "elif", "else", "endif", "firstof"})
_engine = Engine(autoescape=False)
_TAG = re.compile(r"{%-?\s*(\w+)")


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, last = name.split(".")
        node = context
        for parent in parents:
            node = node.setdefault(parent, {})
        node[last] = value
    return context


SAMPLE_CONTEXT = _nested(VARIABLES)


def template_problem(source: str) -> str | None:
    """Why ``source`` cannot be a reply (a tag not allowed, a syntax error, an unknown variable), or None."""
    tags = sorted({tag for tag in _TAG.findall(source) if tag not in ALLOWED_TAGS})
    if tags:
        return _("Tag %(tags)s is not allowed in a reply; replies may use: %(allowed)s.") % {
            "tags": ", ".join(tags),
            "allowed": ", ".join(sorted(ALLOWED_TAGS)),
        }
    try:
        unknown = template_unknowns(source, SAMPLE_CONTEXT)
    except TemplateSyntaxError as exc:
        return _("Template error: %(error)s") % {"error": exc}
    if unknown:
        return _("Unknown variable %(names)s. Replies may use: %(known)s.") % {
            "names": ", ".join(unknown),
            "known": ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES),
        }
    return None


def buyer_language(ticket: Ticket) -> str:
    """The language the buyer is told in: the shop's buyer-notification language (notifications.ShopChannels)."""
    prefs = notification_config.get().shop_channels.get(ticket.shop_id) or ShopChannels()
    return str(prefs.language)


def ticket_amount(ticket: Ticket) -> Decimal:
    """The amount a reply names: the refund approved (else asked for), a compensation, else what the order paid."""
    for field in ("approved_amount", "requested_amount", "compensation_amount"):
        value = getattr(ticket, field, None)
        if value is not None:
            return Decimal(value)
    paid = OrderLine.objects.filter(order_id=ticket.order_id).aggregate(paid=Sum("paid_amount"))["paid"]
    return Decimal(paid or 0)


def reply_context(ticket: Ticket, language: str) -> dict[str, Any]:
    """The values of ``VARIABLES`` for ``ticket`` (its shop, order and buyer joined), labels in ``language``."""
    with translation.override(language):
        state = buyer_state_label(ticket.kind, ticket.state)
    return _nested(
        {
            "buyer.name": ticket.buyer.name,
            "order.number": ticket.order.number,
            "ticket.number": ticket.number or "",
            "ticket.state_label": state,
            "shop.name": ticket.shop.name,
            "amount": f"¥{ticket_amount(ticket):.2f}",
            "deadline": local_time(ticket.due_at),
            "return_address": ticket.shop.return_address,
        }
    )


def text_in(texts: list[Any], language: str) -> str:
    """The body in ``language``, else in Chinese, else the first there is ("" without any)."""
    by_language = {text.language: text.body for text in texts}
    return by_language.get(language) or by_language.get(Language.ZH_HANS) or next(iter(by_language.values()), "")


def render(source: str, context: dict[str, Any], language: str) -> str:
    with translation.override(language):
        return _compiled(source).render(Context(context, autoescape=False)).strip()


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> DjangoTemplate:
    return _engine.from_string(source)
