from django.urls import path

from connectors.views import push_view

app_name = "connectors"
urlpatterns = [path("<str:platform>/push/", push_view, name="push")]
