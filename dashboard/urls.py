"""Included by kefu/urls.py under ``admin/dashboard/``, before the admin's own URLs."""

from django.contrib import admin
from django.urls import path

from dashboard.quality import quality_export_view, quality_view
from dashboard.surge_plan import surge_plan_view
from dashboard.views import dashboard_view

app_name = "dashboard"

urlpatterns = [
    path("", admin.site.admin_view(dashboard_view), name="index"),
    # Service figures per agent and department, and their exports (dashboard.quality).
    path("quality/", admin.site.admin_view(quality_view), name="quality"),
    path("quality/export/<str:what>/<str:fmt>/", admin.site.admin_view(quality_export_view), name="quality-export"),
    # The surge planner: a day played forward with the real routing and deadlines (surge.simulation).
    path("surge-plan/", admin.site.admin_view(surge_plan_view), name="surge-plan"),
]
