"""Risk control: know the buyer (issue 14: risk/, docs/risk.md)."""

from kefu.conf.framework import CELERY_BEAT_SCHEDULE, env

# Buyers' phone numbers and emails are matched by HMAC-SHA256 digests under this key (empty: derived from
# SECRET_KEY). Changing it changes every digest: the nightly refresh then links the buyers again.
KEFU_RISK_IDENTITY_KEY = env.str("KEFU_RISK_IDENTITY_KEY", default="")
# Default thresholds of every shop's risk policy (a shop's RiskPolicy overrides each): a buyer is flagged at …
KEFU_RISK_SERIAL_RETURNS_30D = env.int("KEFU_RISK_SERIAL_RETURNS_30D", default=4)  # … returns in 30 days
KEFU_RISK_REFUND_ONLY_90D = env.int("KEFU_RISK_REFUND_ONLY_90D", default=3)  # … refund-only requests in 90 days
KEFU_RISK_REVIEW_THREATS_365D = env.int("KEFU_RISK_REVIEW_THREATS_365D", default=1)  # … bad-review threats in a year
# Two evidence photos whose 64-bit perceptual hashes differ in at most this many bits are the same photo.
KEFU_RISK_EVIDENCE_DISTANCE = env.int("KEFU_RISK_EVIDENCE_DISTANCE", default=10)
CELERY_BEAT_SCHEDULE.update(
    {
        "risk-profiles-refresh": {
            "task": "risk.tasks.refresh_all_profiles_task",
            # Daily by default: the windows move by the day; the refresh is idempotent, so when it runs does not matter.
            "schedule": env.float("KEFU_RISK_REFRESH_INTERVAL_SECONDS", default=86400.0),
            "options": {"expires": 6 * 3600},
        },
    }
)
