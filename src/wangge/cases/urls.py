"""Staff pages for requests and work orders, under /cases/."""

from django.urls import include, path

from wangge.cases import views

app_name = "cases"

urlpatterns = [
    # First: the metrics pages, before the case-number route below.
    path("metrics/", include("wangge.cases.metrics_urls")),
    path("", views.queue, name="queue"),
    path("mine/", views.mine, name="mine"),
    path("overdue/", views.overdue, name="overdue"),
    path("all/", views.case_list, name="list"),
    path("new/", views.new, name="new"),
    path("new/similar/", views.similar, name="similar"),
    path("new/places/", views.place_search, name="place_search"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<str:number>/", views.case_detail, name="detail"),
    path("<str:number>/act/<str:action>/", views.act, name="act"),
    path("<str:number>/rate/", views.rate, name="rate"),
]
