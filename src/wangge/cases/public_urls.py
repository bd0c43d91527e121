"""Pages for residents: report a matter (signed in or not), follow it by tracking code, rate it."""

from django.urls import path

from wangge.cases import public_views

app_name = "public"

urlpatterns = [
    path("report/", public_views.report, name="report"),
    path("report/done/", public_views.report_done, name="report_done"),
    path("report/similar/", public_views.similar, name="similar"),
    path("report/places/", public_views.places, name="places"),
    path("track/", public_views.track, name="track"),
    path("track/<str:code>/", public_views.track_detail, name="track_detail"),
    path("track/<str:code>/rate/", public_views.track_rate, name="track_rate"),
    path(
        "track/<str:code>/attachments/<int:attachment_id>/",
        public_views.track_attachment,
        name="track_attachment",
    ),
    path("my/requests/", public_views.my_requests, name="my_requests"),
]
