"""kefu's own settings: tickets, notifications and their relay, outgoing requests, observability, evidence storage."""

from django.core.exceptions import ImproperlyConfigured

from kefu.settings.framework import INSTALLED_APPS, MIDDLEWARE, STORAGES, env

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
