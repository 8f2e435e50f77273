from django.urls import path

from benchmarks import views

urlpatterns = [
    path("flat/", views.FlatListCreateApi.as_view(), name="bench-flat-list"),
    path("flat/<int:pk>/", views.FlatDetailApi.as_view(), name="bench-flat-detail"),
    path("flat/<int:pk>/transition/", views.FlatTransitionApi.as_view(), name="bench-flat-transition"),
]
