"""Marketplace connectors (connectors/, docs/platforms.md)."""

from kefu.settings.framework import CELERY_BEAT_SCHEDULE, env

# --- Marketplace connectors (issue 13: connectors/, docs/platforms.md) ------------------------------------
# Fernet key(s) for connection secrets at rest, comma-separated, newest first (MultiFernet: the first encrypts,
# all decrypt). Empty: a key derived from SECRET_KEY (still encrypted; `check --deploy` warns: set it in production).
KEFU_CONNECTOR_KEY = env.str("KEFU_CONNECTOR_KEY", default="")
# kefu's deadline for a step the platform times: the platform's deadline minus this margin (if earlier than kefu's).
KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES = env.float("KEFU_PLATFORM_DEADLINE_MARGIN_MINUTES", default=120.0)
# An incremental pull starts this long before the previous window's end (clock skew, late writes on the platform).
KEFU_CONNECTOR_PULL_OVERLAP_SECONDS = env.float("KEFU_CONNECTOR_PULL_OVERLAP_SECONDS", default=300.0)
# The widest window one pull asks for (a connection that was off catches up window by window).
KEFU_CONNECTOR_PULL_WINDOW_SECONDS = env.float("KEFU_CONNECTOR_PULL_WINDOW_SECONDS", default=1800.0)
# Write-back and inbox retries: exponential backoff with ±20 % jitter from BASE, capped at MAX; dead after ATTEMPTS.
KEFU_CONNECTOR_MAX_ATTEMPTS = env.int("KEFU_CONNECTOR_MAX_ATTEMPTS", default=8)
KEFU_CONNECTOR_RETRY_BASE_SECONDS = env.float("KEFU_CONNECTOR_RETRY_BASE_SECONDS", default=30.0)
KEFU_CONNECTOR_RETRY_MAX_SECONDS = env.float("KEFU_CONNECTOR_RETRY_MAX_SECONDS", default=3600.0)
# How long a relay worker holds a write-back while sending it.
KEFU_CONNECTOR_LEASE_SECONDS = env.float("KEFU_CONNECTOR_LEASE_SECONDS", default=120.0)
# How long a pull holds its connection's lease without finishing a page (renewed after each page).
KEFU_CONNECTOR_PULL_LEASE_SECONDS = env.float("KEFU_CONNECTOR_PULL_LEASE_SECONDS", default=600.0)
# Refresh an OAuth access token this long before it expires.
KEFU_CONNECTOR_TOKEN_REFRESH_MARGIN_SECONDS = env.float("KEFU_CONNECTOR_TOKEN_REFRESH_MARGIN_SECONDS", default=3600.0)
# Push bridges (connectors/bridges/, `manage.py connectors_tmc` / `connectors_pmc`): the platforms' WebSocket URLs
# (a simulator's in tests and the demo) and the TMC group the app's messages are routed to.
KEFU_CONNECTOR_TMC_URL = env.str("KEFU_CONNECTOR_TMC_URL", default="ws://mc.api.taobao.com/")
KEFU_CONNECTOR_TMC_GROUP = env.str("KEFU_CONNECTOR_TMC_GROUP", default="default")
KEFU_CONNECTOR_PMC_URL = env.str("KEFU_CONNECTOR_PMC_URL", default="wss://message-api.pinduoduo.com")
# WeChat Channels shop connector (connectors/platforms/wechat.py): the message-push Token and EncodingAESKey
# configured for kefu's push URL (/connectors/wechat/push/). Empty token: every WeChat push is refused (403).
KEFU_WECHAT_PUSH_TOKEN = env.str("KEFU_WECHAT_PUSH_TOKEN", default="")
KEFU_WECHAT_PUSH_AES_KEY = env.str("KEFU_WECHAT_PUSH_AES_KEY", default="")
CELERY_BEAT_SCHEDULE.update(
    {
        "connectors-pull": {
            "task": "connectors.tasks.pull_all_task",
            "schedule": env.float("KEFU_CONNECTOR_PULL_INTERVAL_SECONDS", default=120.0),
            "options": {"expires": 300},
        },
        "connectors-inbox": {
            "task": "connectors.tasks.process_inbox_task",
            "schedule": env.float("KEFU_CONNECTOR_INBOX_INTERVAL_SECONDS", default=30.0),
            "options": {"expires": 120},
        },
        "connectors-writeback": {
            "task": "connectors.tasks.relay_writebacks_task",
            "schedule": env.float("KEFU_CONNECTOR_WRITEBACK_INTERVAL_SECONDS", default=30.0),
            "options": {"expires": 120},
        },
        "connectors-reconcile": {
            "task": "connectors.tasks.reconcile_all_task",
            "schedule": env.float("KEFU_CONNECTOR_RECONCILE_INTERVAL_SECONDS", default=3600.0),
            "options": {"expires": 3600},
        },
    }
)

# --- Douyin shop connector (issue 13: connectors/platforms/douyin.py) ---------------------------------------
# The reject_reason_code sent when staff refuse a Douyin 仅退款 (/afterSale/operate type 202): one of the shop's
# codes from /afterSale/rejectReasonCodeList. Empty: a refusal is not sent and the ticket goes back to the staff.
KEFU_DOUYIN_REJECT_REASON_CODE = env.str("KEFU_DOUYIN_REJECT_REASON_CODE", default="")
