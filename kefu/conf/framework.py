"""Django's own settings and the services it runs on: environment, apps, middleware, database, cache, Celery,
auth, languages, static files, security, logging."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from kefu.core.secret_key import DEVELOPMENT_SECRET_KEY, secret_key_problem

BASE_DIR = Path(__file__).resolve().parent.parent.parent
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
    "desk.site.DeskAdminConfig",  # django.contrib.admin with kefu's admin site (desk/site.py)
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
    "risk",
    "quality",
    "payments",
    "replies",
    "incidents",
    "surge",
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
    "kefu.core.lazy_messages.LazyMessageMiddleware",  # Django's, its storage made on first use
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
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with a health check that looks at the socket before it sends SELECT 1 (kefu.core.postgresql).
        DATABASES["default"]["ENGINE"] = "kefu.core.postgresql"
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
