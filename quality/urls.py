"""The buyer's public satisfaction page (kefu/urls.py includes it at ``survey/``): no account, the signed link."""

from django.urls import path

from quality.views import survey_view

app_name = "quality"

urlpatterns = [
    path("<str:token>/", survey_view, name="survey"),
]
