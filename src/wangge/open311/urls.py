"""Open311 GeoReport v2, under /open311/v2/: each endpoint in .json and .xml.

The format is the extension; the views answer an unknown one with a 404 in the spec's
format, and so does anything else under /open311/v2/.
"""

from django.urls import URLPattern, path, re_path

from wangge.open311 import views

app_name = "open311"

urlpatterns: list[URLPattern] = [
    path("discovery.<str:fmt>", views.discovery, name="discovery"),
    path("services.<str:fmt>", views.service_list, name="services"),
    path("services/<str:code>.<str:fmt>", views.service_definition, name="service"),
    path("requests.<str:fmt>", views.request_list, name="requests"),
    path("requests/<str:number>.<str:fmt>", views.request_detail, name="request"),
    path("tokens/<str:value>.<str:fmt>", views.token, name="token"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
