"""The shop's coupon pool: importing codes, issuing one exactly once, and how many are left."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.models import Shop
from payments.errors import CouponPoolEmpty, PayoutInvalid
from payments.models import CouponCode
from tickets.models import Ticket


def coupon_import(*, shop: Shop, text: str, value: Decimal | None = None) -> int:
    """Add the codes in ``text`` (one a line: ``CODE`` with ``value``, or ``CODE,VALUE``) to the shop's pool;
    codes already there are skipped. All or nothing: a bad line names itself and nothing is imported.
    Returns how many codes were added."""
    rows: dict[str, Decimal] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = [part.strip() for part in line.split(",")]
        if not parts[0]:
            continue
        try:
            amount = Decimal(parts[1]) if len(parts) > 1 and parts[1] else value
        except InvalidOperation as exc:
            raise PayoutInvalid(
                _("Line %(line)d: %(value)s is not an amount.") % {"line": number, "value": parts[1]}, field="codes"
            ) from exc
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or len(parts[0]) > 64:
            raise PayoutInvalid(
                _("Line %(line)d: a code (at most 64 characters) and a value above ¥0.00 in fen are needed.")
                % {"line": number},
                field="codes",
            )
        rows[parts[0]] = amount
    with transaction.atomic():
        known = set(CouponCode.objects.filter(shop=shop, code__in=rows).values_list("code", flat=True))
        new = [CouponCode(shop=shop, code=code, value=amount) for code, amount in rows.items() if code not in known]
        CouponCode.objects.bulk_create(new)
    return len(new)


def coupons_left(*, shop: Shop) -> int:
    return CouponCode.objects.filter(shop=shop, issued_to__isnull=True).count()


def pool_is_low(*, shop: Shop) -> bool:
    """Whether staff should add codes: fewer unissued codes than ``KEFU_COUPON_POOL_LOW``."""
    return coupons_left(shop=shop) < settings.KEFU_COUPON_POOL_LOW


def coupon_issue(*, ticket: Ticket, amount: Decimal) -> CouponCode:
    """Give the ticket the shop's cheapest unissued code worth at least ``amount``, exactly once.

    Must run inside the caller's transaction (after the ticket's lock). The code is taken with ``SELECT …
    FOR UPDATE SKIP LOCKED``: two payouts at once never take the same code, and neither waits for the other.
    """
    free = CouponCode.objects.filter(shop_id=ticket.shop_id, issued_to__isnull=True, value__gte=amount)
    coupon = free.order_by("value", "pk").select_for_update(skip_locked=True).first()
    if coupon is None:
        raise CouponPoolEmpty(
            _("The shop has no unissued coupon code worth ¥%(amount)s; import codes first.") % {"amount": amount}
        )
    coupon.issued_to = ticket
    coupon.issued_at = timezone.now()
    coupon.save(update_fields=["issued_to", "issued_at"])
    return coupon
