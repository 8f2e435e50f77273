"""kefu settings, read from environment variables (docs/operations.md lists them all).

Embedded defaults run the whole system on one machine with nothing else installed: a SQLite file and
kombu's filesystem transport as broker, both under ``var/``, with ``DJANGO_DEBUG=true`` (``make run`` and
``make test`` set it; pytest and mypy load ``kefu.settings_dev``, which does). DEBUG is off by default, and then a
real ``DJANGO_SECRET_KEY`` is required. Production sets ``DATABASE_URL`` (PostgreSQL), ``CELERY_BROKER_URL`` and
``CACHE_URL`` (Redis) and ``DJANGO_SECRET_KEY``; ``manage.py check --deploy`` names what is still a demo default
(kefu/checks.py).
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kefu.core.secret_key import DEVELOPMENT_SECRET_KEY, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
VAR_DIR = Path(env.str("KEFU_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Settings and secrets (issue 12) ---------------------------------------------------------------------
# Off unless asked for: `make run`, `make test` and .ci/run set DJANGO_DEBUG=true for development. With DEBUG off
# the process refuses to start without a real secret key (kefu.core.secret_key says what is refused and why).
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (DEVELOPMENT_SECRET_KEY if DEBUG else "")
if not DEBUG and (_secret_key_problem := secret_key_problem(SECRET_KEY)):
    raise ImproperlyConfigured(_secret_key_problem)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "orders",
    "tickets",
    "routing",
    "notifications",
    "connectors",
    "payments",
    "api",
    "accounts",
    "desk",
    "benchmarks",
    "dashboard",
    "kefu",  # kefu/apps.py: registers kefu.checks (`manage.py check --deploy`)
]

MIDDLEWARE = [
    # GET /healthz, before host validation and the HTTPS redirect: load balancers probe by address over HTTP.
    "dashboard.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Under LocaleMiddleware, so its answers are in the caller's language; before any middleware reads a body.
    "api.middleware.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: answers a locked-out admin login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = "kefu.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------------
# SQLite is for the demo and local development: WAL and IMMEDIATE transactions let the web process, the
# worker and beat write to the same file without "database is locked" errors under light load.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kefu.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=True):
        # Parameters sent apart from the SQL, and a statement a connection has run this many times is prepared:
        # PostgreSQL then reuses its plan instead of planning it on every request (Django's default is never).
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": env.int("DATABASE_PREPARE_THRESHOLD", default=5)}
        )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://kefu")}
# --- Celery ---------------------------------------------------------------------------------------------
# The default broker needs no server: kombu's filesystem transport, folders under var/broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is a "control" folder relative to the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    # The transport does not create its data folders, and every process (web, worker, beat, tests) may be the
    # first to publish or consume, so they are made here.
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=7200)}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Deadlines live in the database; beat only wakes the sweep up (exactly one beat process in production).
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-deadlines": {
        "task": "tickets.tasks.sweep_deadlines_task",
        "schedule": env.float("KEFU_SWEEP_INTERVAL_SECONDS", default=60.0),
        "options": {"expires": 300},
    },
    "relay-notifications": {
        "task": "notifications.tasks.relay_pending_notifications_task",
        "schedule": env.float("KEFU_NOTIFY_RELAY_INTERVAL_SECONDS", default=30.0),
        "options": {"expires": 120},
    },
    "relay-refunds": {
        "task": "tickets.tasks.relay_pending_refunds_task",
        "schedule": env.float("KEFU_REFUND_RELAY_INTERVAL_SECONDS", default=300.0),
        "options": {"expires": 600},
    },
    "stalled-parcels": {
        "task": "tickets.tasks.open_stalled_parcel_tickets_task",
        "schedule": env.float("KEFU_STALLED_CHECK_INTERVAL_SECONDS", default=900.0),
        "options": {"expires": 1800},
    },
    # Settings and secrets (issue 12): Idempotency-Key records past their window.
    "purge-idempotency-records": {
        "task": "api.tasks.purge_idempotency_records_task",
        "schedule": env.float("KEFU_IDEMPOTENCY_PURGE_INTERVAL_SECONDS", default=3600.0),
        "options": {"expires": 1800},
    },
}

# --- Auth -----------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (production) ------------------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Logging --------------------------------------------------------------------------------------------
# LOG_FORMAT=json writes one JSON object per line (python-json-logger) for a log shipper; plain by default.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if LOG_FORMAT == "json" else "plain"}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

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

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.ApiKeyAuthentication",
        "api.auth.StaffTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
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

# --- kefu -----------------------------------------------------------------------------------------------
# How many times a buyer may reopen a closed complaint (SPEC: "limited count").
KEFU_COMPLAINT_MAX_REOPENS = env.int("KEFU_COMPLAINT_MAX_REOPENS", default=2)
# A shipment with no tracking event for this long gets a logistics ticket (SPEC: default 72 h).
KEFU_STALLED_PARCEL_HOURS = env.float("KEFU_STALLED_PARCEL_HOURS", default=72.0)
# Notifications: the relay's retry policy and the outside providers (docs/notifications.md).
KEFU_NOTIFY_MAX_ATTEMPTS = env.int("KEFU_NOTIFY_MAX_ATTEMPTS", default=8)
KEFU_NOTIFY_RETRY_BASE_SECONDS = env.float("KEFU_NOTIFY_RETRY_BASE_SECONDS", default=30.0)
KEFU_NOTIFY_RETRY_MAX_SECONDS = env.float("KEFU_NOTIFY_RETRY_MAX_SECONDS", default=3600.0)
# The SMS provider: notifications.channels.sms_aliyun.AliyunSmsProvider in production; the default console
# provider only logs (development).
KEFU_SMS_PROVIDER = env.str("KEFU_SMS_PROVIDER", default="notifications.channels.sms.ConsoleSmsProvider")

# --- Settings and secrets (issue 12), continued ------------------------------------------------------------
# Evidence on local disk (FileSystemStorage) is private only if no web server publishes MEDIA_ROOT: say so here
# once that holds (kefu.checks W005 warns until then, or until evidence goes to object storage).
KEFU_EVIDENCE_PRIVATE_SERVING = env.bool("KEFU_EVIDENCE_PRIVATE_SERVING", default=False)
# Staff API tokens (api.models.StaffToken): how long one issued by the admin or `manage.py staff_token issue` works.
KEFU_STAFF_TOKEN_TTL_HOURS = env.float("KEFU_STAFF_TOKEN_TTL_HOURS", default=720.0)
# Compensation (logistics tickets): above this amount (yuan) a second supervisor, not the one who proposed it, must
# approve it; a shop may set its own threshold and a cap per compensation (Shop fields).
KEFU_COMPENSATION_APPROVAL_THRESHOLD = env.float("KEFU_COMPENSATION_APPROVAL_THRESHOLD", default=200.0)
# Aliyun SMS (dysmsapi SendSms): a RAM user's access key, the approved signature and template (one variable,
# named by KEFU_SMS_ALIYUN_TEMPLATE_PARAM, receives the message), the endpoint.
KEFU_SMS_ALIYUN_ACCESS_KEY_ID = env.str("KEFU_SMS_ALIYUN_ACCESS_KEY_ID", default="")
KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET = env.str("KEFU_SMS_ALIYUN_ACCESS_KEY_SECRET", default="")
KEFU_SMS_ALIYUN_SIGN_NAME = env.str("KEFU_SMS_ALIYUN_SIGN_NAME", default="")
KEFU_SMS_ALIYUN_TEMPLATE_CODE = env.str("KEFU_SMS_ALIYUN_TEMPLATE_CODE", default="")
KEFU_SMS_ALIYUN_TEMPLATE_PARAM = env.str("KEFU_SMS_ALIYUN_TEMPLATE_PARAM", default="content")
KEFU_SMS_ALIYUN_ENDPOINT = env.str("KEFU_SMS_ALIYUN_ENDPOINT", default="https://dysmsapi.aliyuncs.com/")
KEFU_SMS_ALIYUN_REGION = env.str("KEFU_SMS_ALIYUN_REGION", default="cn-hangzhou")

# --- Outgoing requests (kefu.core.outbound: webhooks, robots, SMS; docs/notifications.md) -------------------
# Loopback and private networks as targets: for local development only (`make run`, the tests); cloud metadata
# addresses stay refused. `check --deploy` warns when it is on.
KEFU_OUTBOUND_ALLOW_PRIVATE = env.bool("KEFU_OUTBOUND_ALLOW_PRIVATE", default=False)
# Networks (CIDR, comma-separated) allowed although not public: an operator's own internal receiver.
KEFU_OUTBOUND_ALLOW_NETWORKS = env.list("KEFU_OUTBOUND_ALLOW_NETWORKS", default=[])
# One total deadline per request: connect, TLS, sending and the whole answer (KEFU_NOTIFY_HTTP_TIMEOUT, its
# former name, is still read).
KEFU_OUTBOUND_DEADLINE_SECONDS = env.float(
    "KEFU_OUTBOUND_DEADLINE_SECONDS", default=env.float("KEFU_NOTIFY_HTTP_TIMEOUT", default=10.0)
)
# An answer's body is read up to this many bytes; a larger one is a failed attempt.
KEFU_OUTBOUND_MAX_BODY_BYTES = env.int("KEFU_OUTBOUND_MAX_BODY_BYTES", default=64 * 1024)
# After "rotate webhook secret", webhooks carry signatures with the new and the old secret for this long.
KEFU_WEBHOOK_SECRET_OVERLAP_HOURS = env.float("KEFU_WEBHOOK_SECRET_OVERLAP_HOURS", default=72.0)

# --- Notification relay: leases and delivery order (notifications.leasing; docs/notifications.md) -----------
# How long a claimed outbox row is the claiming worker's: longer than one send may take (the HTTP deadline)
# plus the relay's 5 s batch; a worker that dies mid-send leaves its rows to others after this.
KEFU_NOTIFY_LEASE_SECONDS = env.float("KEFU_NOTIFY_LEASE_SECONDS", default=60.0)
# A pending message holds back the later messages of its ticket to the same recipient; once it has been failing
# for this long (or is dead-lettered) they go without it.
KEFU_NOTIFY_ORDER_HOLD_SECONDS = env.float("KEFU_NOTIFY_ORDER_HOLD_SECONDS", default=900.0)
# --- Observability (docs/operations.md) -------------------------------------------------------------------
# /healthz: how long a result is kept per process, and the ages above which beat and the relay count as behind.
KEFU_HEALTH_CACHE_SECONDS = env.float("KEFU_HEALTH_CACHE_SECONDS", default=5.0)
KEFU_HEALTH_BEAT_MAX_AGE_SECONDS = env.float("KEFU_HEALTH_BEAT_MAX_AGE_SECONDS", default=600.0)
KEFU_HEALTH_RELAY_MAX_AGE_SECONDS = env.float("KEFU_HEALTH_RELAY_MAX_AGE_SECONDS", default=300.0)
# /metrics (Prometheus) is served, and django-prometheus's request figures are kept, only when a token is set.
KEFU_METRICS_TOKEN = env.str("KEFU_METRICS_TOKEN", default="")
if KEFU_METRICS_TOKEN:
    INSTALLED_APPS.append("django_prometheus")
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
# Error reporting to Sentry (or a compatible service such as GlitchTip), off unless SENTRY_DSN is set. No
# personal data is sent (send_default_pii off): buyers' names, phones and addresses stay here.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )

# --- Evidence storage and buyers' personal data (issue 12; kefu.core.evidence_files, tickets.privacy) ------------
# Where evidence files live: "local" (MEDIA_ROOT on this machine's disk) or "s3" (any S3-compatible bucket through
# django-storages: AWS S3, Aliyun OSS, MinIO …). Either way MEDIA is never served by URL: files are streamed to
# people through the scoped views only, so the bucket stays private (no public or signed URLs are handed out).
# Credentials come from the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) or the instance's role.
KEFU_EVIDENCE_STORAGE = env.str("KEFU_EVIDENCE_STORAGE", default="local")
if KEFU_EVIDENCE_STORAGE == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {  # type: ignore[dict-item]
            "bucket_name": env.str("KEFU_EVIDENCE_BUCKET"),
            # Aliyun OSS: https://oss-<region>.aliyuncs.com with addressing style "virtual"; MinIO: its URL, "path".
            "endpoint_url": env.str("KEFU_EVIDENCE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("KEFU_EVIDENCE_S3_REGION", default="") or None,
            "addressing_style": env.str("KEFU_EVIDENCE_S3_ADDRESSING_STYLE", default="") or None,
            "location": env.str("KEFU_EVIDENCE_S3_PREFIX", default=""),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
            # Whoever reaches the bucket directly still gets a download, never a page.
            "object_parameters": {"ContentDisposition": "attachment", "CacheControl": "private, no-store"},
        },
    }
elif KEFU_EVIDENCE_STORAGE != "local":
    raise ImproperlyConfigured(f"KEFU_EVIDENCE_STORAGE must be 'local' or 's3', not {KEFU_EVIDENCE_STORAGE!r}.")

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
# refund lifecycle reads KEFU_PAYMENT_GATEWAYS (its "manual" entry is the lifecycle's own default).
# The environment's KEFU_PAYMENT_GATEWAYS (above) may still override them.
KEFU_PAYMENT_GATEWAYS = {
    "alipay": "payments.gateways.alipay.for_shop",
    "wechatpay": "payments.gateways.wechatpay.for_shop",
    **KEFU_PAYMENT_GATEWAYS,
}
# A shop's coupon pool with fewer unissued codes than this warns staff (the admin and each issue).
KEFU_COUPON_POOL_LOW = env.int("KEFU_COUPON_POOL_LOW", default=10)
# How often the beat task retries compensation transfers left without an answer (same out_biz_no / out_detail_no).
KEFU_PAYOUT_RETRY_INTERVAL_SECONDS = env.float("KEFU_PAYOUT_RETRY_INTERVAL_SECONDS", default=300.0)
CELERY_BEAT_SCHEDULE["payments-payout-retry"] = {
    "task": "payments.tasks.retry_payouts_task",
    "schedule": KEFU_PAYOUT_RETRY_INTERVAL_SECONDS,
    "options": {"expires": 600},
}
