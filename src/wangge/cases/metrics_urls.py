"""The metrics page and its Excel export, under /cases/metrics/ (names inside the cases namespace)."""

from django.urls import path

from wangge.cases import metrics_views

urlpatterns = [
    path("", metrics_views.metrics_page, name="metrics"),
    path("export/", metrics_views.metrics_export, name="metrics_export"),
]
