"""The payments app's refusals (mapped by the API's one exception handler, shown by the admin)."""

from __future__ import annotations

from kefu.core.errors import Conflict, ValidationFailed


class PayoutRefused(Conflict):
    """The ticket cannot be paid now (not waiting for its compensation, already being paid, above the cap)."""

    code = "payout_refused"


class PayoutInvalid(ValidationFailed):
    """The payout's input is missing or wrong (``field`` names it)."""

    code = "payout_invalid"


class CouponPoolEmpty(Conflict):
    """The shop has no unissued coupon code worth the compensation."""

    code = "coupon_pool_empty"
