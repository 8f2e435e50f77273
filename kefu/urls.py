"""Top-level URL configuration."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from dashboard.health import health_details_view
from dashboard.metrics import metrics_view

urlpatterns = [
    # Operations (docs/operations.md): /healthz is answered by dashboard.health.HealthProbeMiddleware; its
    # details are for staff. Prometheus scrapes /metrics with a bearer token.
    path("admin/healthz/", admin.site.admin_view(health_details_view), name="healthz-details"),
    path("metrics", metrics_view, name="metrics"),
    # Before the admin's URLs, whose catch-all would take "dashboard/" for an app label.
    path("admin/dashboard/", include("dashboard.urls")),
    # The language switcher in the admin's header posts here (django.views.i18n.set_language).
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # The payment providers' refund notifications (payments.views; authenticated by the providers' signatures,
    # not API keys), before the API's catch-all.
    path("api/v1/payments/", include("payments.urls")),
    path("api/v1/", include("api.urls")),
    path("connectors/", include("connectors.urls")),
    # The buyer's satisfaction page (quality.views): public, reached by the signed link of the 回访 message.
    path("survey/", include("quality.urls")),
    # The buyer's answer to an incident (incidents.views): public, reached by the signed link of its message.
    path("incident/", include("incidents.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

# Refused and missing pages in the user's language, with the ways back to work (desk/errors.py).
handler403 = "desk.errors.permission_denied"
handler404 = "desk.errors.page_not_found"
handler500 = "desk.errors.server_error"

# MEDIA_ROOT is never served, not even with DEBUG: evidence leaves kefu only through the scoped views
# (api.views.evidence, the admin's ticket page), and the web server must not serve it either
# (kefu.core.evidence_files).

if settings.KEFU_BENCH_ENDPOINTS:
    urlpatterns.append(path("bench/", include("benchmarks.urls")))
