"""Money (issue 14: tickets.payments, the refund lifecycle, the finance queue, return postage, the payments app's
providers and compensation payouts; docs/money.md)."""

from kefu.conf.framework import CELERY_BEAT_SCHEDULE, env

# --- Refund lifecycle, finance queue and return postage (issue 14) ------------------------------------------
# Order.payment_provider → dotted path of the gateway factory that refunds such orders, called as
# factory(shop_code=...); JSON, e.g. {"alipay": "payments.gateways.alipay.AlipayGateway"}. "manual" (the finance
# queue, tickets.payments.ManualRefundGateway) always exists and may be overridden here.
KEFU_PAYMENT_GATEWAYS: dict[str, str] = env.json("KEFU_PAYMENT_GATEWAYS", default={})
# A submitted refund nobody confirmed for this long (a manual payout not recorded, a provider that never answered)
# escalates like any other deadline: priority urgent and an escalation on the timeline, once.
KEFU_REFUND_PAYOUT_HOURS = env.float("KEFU_REFUND_PAYOUT_HOURS", default=48.0)
# Return postage the shop refunds at most (yuan) for a return that is its fault, when the shop sets no cap of its own.
KEFU_RETURN_POSTAGE_CAP = env.float("KEFU_RETURN_POSTAGE_CAP", default=20.0)
# How often beat asks the providers about submitted refunds, and escalates the ones past KEFU_REFUND_PAYOUT_HOURS.
CELERY_BEAT_SCHEDULE["refunds-poll"] = {
    "task": "tickets.tasks.poll_submitted_refunds_task",
    "schedule": env.float("KEFU_REFUND_POLL_INTERVAL_SECONDS", default=300.0),
    "options": {"expires": 600},
}

# --- Payment providers and compensation payouts (issue 14: payments/) ----------------------------------------
# The provider gateways an order's payment_provider names (factories called as factory(shop_code=...)); the
# environment's KEFU_PAYMENT_GATEWAYS (above) may still override them.
KEFU_PAYMENT_GATEWAYS = {
    "alipay": "payments.gateways.alipay.for_shop",
    "wechatpay": "payments.gateways.wechatpay.for_shop",
    **KEFU_PAYMENT_GATEWAYS,
}
# A shop's coupon pool with fewer unissued codes than this warns staff (the coupon list in the admin).
KEFU_COUPON_POOL_LOW = env.int("KEFU_COUPON_POOL_LOW", default=10)
# How often the beat task retries compensation transfers left without an answer (same out_biz_no / out_detail_no).
KEFU_PAYOUT_RETRY_INTERVAL_SECONDS = env.float("KEFU_PAYOUT_RETRY_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["payments-payout-retry"] = {
    "task": "payments.tasks.retry_payouts_task",
    "schedule": KEFU_PAYOUT_RETRY_INTERVAL_SECONDS,
    "options": {"expires": 600},
}
