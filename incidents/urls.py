"""The buyer's public answer page (kefu/urls.py includes it at ``incident/``): no account, the signed link."""

from django.urls import path

from incidents.views import answer_view

app_name = "incidents"

urlpatterns = [
    path("<str:token>/", answer_view, name="answer"),
]
