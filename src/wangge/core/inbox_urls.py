"""The in-app inbox pages, under /inbox/."""

from django.urls import path

from wangge.core import inbox_views

app_name = "inbox"

urlpatterns = [
    path("", inbox_views.inbox, name="list"),
    path("read-all/", inbox_views.mark_all_read, name="read_all"),
    path("<int:notification_id>/read/", inbox_views.mark_read, name="read"),
]
