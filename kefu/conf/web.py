"""Requests in (client addresses, throttles, lockouts, body limits, outages), the REST API, email."""

from datetime import timedelta

from kefu.conf.framework import CACHES, env

# --- Requests in: client addresses, throttles, lockouts, body limits, outages (issue 12) ---------------------
# How many reverse proxies of our own stand in front of kefu, each appending to X-Forwarded-For: 0 uses the TCP
# peer's address; N takes the Nth entry from the right (kefu.core.client_address). Throttles, failed-credential
# counters and the admin's login lockout all count clients by it.
KEFU_TRUSTED_PROXY_COUNT = env.int("KEFU_TRUSTED_PROXY_COUNT", default=0)
# Failed API keys, staff tokens and admin logins: this many within the window from one client address (or for one
# key prefix / username), and that address (prefix, username) is refused until the window ends.
KEFU_AUTH_FAILURE_LIMIT = env.int("KEFU_AUTH_FAILURE_LIMIT", default=10)
KEFU_AUTH_FAILURE_WINDOW_SECONDS = env.int("KEFU_AUTH_FAILURE_WINDOW_SECONDS", default=900)
# A request body larger than this is refused with 413 from its Content-Length, before it is read: the largest
# evidence upload (a video) plus room for the multipart framing. nginx: client_max_body_size 52m.
KEFU_REQUEST_MAX_BYTES = env.int("KEFU_REQUEST_MAX_BYTES", default=52 * 1024 * 1024)
# The Retry-After of a 503 answered while the database is unreachable.
KEFU_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("KEFU_UNAVAILABLE_RETRY_AFTER_SECONDS", default=10)
# The cache only helps (throttles, configuration versions): on Redis it fails open (kefu.core.cache), with short
# socket timeouts so an unreachable Redis costs a request little, and is asked again after the retry interval.
KEFU_CACHE_TIMEOUT_SECONDS = env.float("KEFU_CACHE_TIMEOUT_SECONDS", default=0.5)
KEFU_CACHE_RETRY_SECONDS = env.float("KEFU_CACHE_RETRY_SECONDS", default=5.0)
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "kefu.core.cache.FailOpenRedisCache"
    CACHES["default"]["OPTIONS"] = {
        "socket_connect_timeout": KEFU_CACHE_TIMEOUT_SECONDS,
        "socket_timeout": KEFU_CACHE_TIMEOUT_SECONDS,
        **CACHES["default"].get("OPTIONS", {}),
    }
# Admin login lockout (django-axes): the same client address rule, limit and window; attempts are kept in the
# database (the login needs it anyway, so the lockout is never down while logins work); per address and per
# username, each on its own.
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = KEFU_AUTH_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=KEFU_AUTH_FAILURE_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_CLIENT_IP_CALLABLE = "kefu.core.client_address.client_address"
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- The admin ---------------------------------------------------------------------------------------------
# The name in the admin's header and the browser's title bar (desk/site.py): the shop's, not translated.
KEFU_SITE_NAME = env.str("KEFU_SITE_NAME", default="kefu 售后")

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.ApiKeyAuthentication",
        "api.auth.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.RememberedContentNegotiation",
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.ApiKeyRateThrottle",
        "api.throttling.StaffUserRateThrottle",
        "api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("KEFU_THROTTLE_API_KEY", default="1200/min"),
        "staff_user": env.str("KEFU_THROTTLE_STAFF_USER", default="600/min"),
        "anonymous": env.str("KEFU_THROTTLE_ANONYMOUS", default="60/min"),
    },
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "NUM_PROXIES": KEFU_TRUSTED_PROXY_COUNT,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_VERSIONING_CLASS": None,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kefu API",
    "DESCRIPTION": "After-sales tickets for storefronts (per-shop API keys) and staff (tokens). See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "ShipmentStatusEnum": "orders.models.ShipmentStatus",
    },
}
# Idempotency-Key: how long a key's first answer is kept, and how long a retry waits for a running first.
KEFU_IDEMPOTENCY_TTL_HOURS = env.int("KEFU_IDEMPOTENCY_TTL_HOURS", default=24)
KEFU_IDEMPOTENCY_WAIT_SECONDS = env.float("KEFU_IDEMPOTENCY_WAIT_SECONDS", default=10.0)
KEFU_IDEMPOTENCY_STALE_SECONDS = env.int("KEFU_IDEMPOTENCY_STALE_SECONDS", default=300)
# Evidence uploads: limits per type and per ticket.
KEFU_EVIDENCE_MAX_IMAGE_BYTES = env.int("KEFU_EVIDENCE_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
KEFU_EVIDENCE_MAX_VIDEO_BYTES = env.int("KEFU_EVIDENCE_MAX_VIDEO_BYTES", default=50 * 1024 * 1024)
KEFU_EVIDENCE_MAX_FILES = env.int("KEFU_EVIDENCE_MAX_FILES", default=20)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Configuration snapshots (kefu.core.config_cache): how often a process asks the shared cache whether routing rules,
# policies, templates … changed elsewhere, and the longest it keeps a snapshot whatever the cache says.
KEFU_CONFIG_CHECK_SECONDS = env.float("KEFU_CONFIG_CHECK_SECONDS", default=1.0)
KEFU_CONFIG_MAX_AGE_SECONDS = env.float("KEFU_CONFIG_MAX_AGE_SECONDS", default=60.0)
# A storefront's API key, once verified, is kept in each process for this long (api/key_cache.py): its requests
# then authenticate without a query. A key revoked in another process is refused there within this time at the
# latest (at once in the process that revoked it); 0 reads the key on every request.
KEFU_API_KEY_CACHE_SECONDS = env.float("KEFU_API_KEY_CACHE_SECONDS", default=30.0)
# The bare comparison endpoints of `manage.py bench_api` (never on in production).
KEFU_BENCH_ENDPOINTS = env.bool("KEFU_BENCH_ENDPOINTS", default=False)

# --- Email -----------------------------------------------------------------------------------------------
# consolemail:// prints messages (the demo); smtp+tls://user:password@host:587 in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, … (django-environ's documented pattern)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kefu@localhost")

# --- The desk (issue 15) --------------------------------------------------------------------------------
# How often the ticket queue asks for fresh tab counts and rows (desk.admin.queue; htmx polling), in seconds.
KEFU_QUEUE_POLL_SECONDS = env.int("KEFU_QUEUE_POLL_SECONDS", default=20)
